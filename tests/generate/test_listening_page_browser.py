"""The listening pages as a person sees them: opened from the file system in headless Chromium.

A harness page (test only: the product pages hold no script) loads a listening page in an
iframe and writes, for every ``<audio>``, its duration or media error, and for every ``<img>``
its natural size, into the DOM that ``chromium --headless --dump-dom`` prints. Each page's
players must load with the duration of the WAV they name, and every image must decode.
Skipped where no Chromium is installed (Debian: ``apt-get install chromium``).
"""

import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
import soundfile as sf

from evaluation.compare import AudioSet
from generate import listening_page, sounds
from tests.conftest import TINY_SAMPLE_RATE
from tests.generate.score_roll_run import roll_run  # noqa: F401 (a fixture)

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
BROWSER = next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason=f"no headless Chromium on PATH (looked for {', '.join(BROWSERS)}; "
                                                         "Debian/Ubuntu: apt-get install chromium)")

HARNESS = """<!DOCTYPE html>
<html><body><pre id="result">pending</pre>
<iframe id="frame" src="PAGE" width="1200" height="800"></iframe>
<script>
function audioResult(a) {
  return new Promise(function (resolve) {
    var done = function () {
      resolve({src: a.getAttribute("src"), duration: a.duration, error: a.error ? a.error.code : null});
    };
    if (a.readyState >= 1 || a.error) { done(); return; }
    a.addEventListener("loadedmetadata", done);
    a.addEventListener("error", done);
  });
}
function imageResult(img) {
  return new Promise(function (resolve) {
    var done = function () { resolve({src: img.getAttribute("src"), width: img.naturalWidth}); };
    if (img.complete) { done(); return; }
    img.addEventListener("load", done);
    img.addEventListener("error", done);
  });
}
document.getElementById("frame").addEventListener("load", function () {
  var doc = document.getElementById("frame").contentDocument;
  var audios = Array.prototype.map.call(doc.querySelectorAll("audio"), audioResult);
  var images = Array.prototype.map.call(doc.querySelectorAll("img"), imageResult);
  Promise.all([Promise.all(audios), Promise.all(images)]).then(function (r) {
    document.getElementById("result").textContent = JSON.stringify({audio: r[0], images: r[1]});
  });
});
</script></body></html>
"""


def open_in_browser(page, tmp_path):
    """What Chromium loads of ``page`` (a file path): ``{"audio": [...], "images": [...]}``."""
    harness = Path(page).parent / "harness_test.html"  # beside the page, so the iframe's link is relative
    harness.write_text(HARNESS.replace("PAGE", Path(page).name))
    try:
        result = subprocess.run(
            [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--allow-file-access-from-files",  # the harness reads the page's iframe: both are file:// URLs
             f"--user-data-dir={tmp_path / 'chromium-profile'}", "--virtual-time-budget=15000", "--dump-dom",
             harness.resolve().as_uri()],
            capture_output=True, text=True, timeout=60,
        )
    finally:
        harness.unlink()
    found = re.search(r'<pre id="result">(.*?)</pre>', result.stdout, re.S)
    assert found and found.group(1) != "pending", f"the harness did not finish: {result.stdout[-500:]} {result.stderr[-500:]}"
    return json.loads(found.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"'))


def check_in_browser(page, tmp_path, expected_players):
    """Every player loads with its WAV's duration (to 10 ms), every image decodes."""
    loaded = open_in_browser(page, tmp_path)
    folder = Path(page).parent
    assert len(loaded["audio"]) == expected_players
    for player in loaded["audio"]:
        assert player["error"] is None, player
        assert player["duration"] == pytest.approx(sf.info(folder / unquote(player["src"])).duration, abs=0.01), player
    assert len(loaded["images"]) == expected_players
    for image in loaded["images"]:
        assert image["width"] > 100, image


def test_sounds_page_in_the_browser(runs, tmp_path):
    out = tmp_path / "sounds"
    assert sounds.main(["--model", str(runs / "ddim"), "--num", "2", "--steps", "2", "--out", str(out)]) == 0
    check_in_browser(out / "index.html", tmp_path, expected_players=4)


def test_long_and_interpolation_pages_in_the_browser(runs, tmp_path):
    long_wav = tmp_path / "long" / "long.wav"
    assert sounds.main(["long", "--model", str(runs / "ddim"), "--duration", "2.5", "--steps", "2",
                        "--out", str(long_wav)]) == 0
    check_in_browser(long_wav.with_suffix(".html"), tmp_path, expected_players=1)
    interpolation = tmp_path / "interpolation"
    assert sounds.main(["interpolate", "--model", str(runs / "ddim"), "--num", "3", "--steps", "2",
                        "--out", str(interpolation)]) == 0
    check_in_browser(interpolation / "index.html", tmp_path, expected_players=4)


def test_roll_harmonisation_and_bar_pages_in_the_browser(roll_run, tmp_path):
    run_dir, _ = roll_run
    out = tmp_path / "roll"
    assert sounds.main(["--model", str(run_dir), "--num", "2", "--steps", "2", "--out", str(out)]) == 0
    check_in_browser(out / "index.html", tmp_path, expected_players=4)
    harmonised = tmp_path / "harmonised"
    assert sounds.main(["--model", str(run_dir), "--harmonise", "test:0", "--num", "2", "--steps", "2",
                        "--out", str(harmonised)]) == 0
    check_in_browser(harmonised / "index.html", tmp_path, expected_players=3)  # two harmonisations and Bach's
    bars = tmp_path / "bars"
    assert sounds.main(["--model", str(run_dir), "--fill-bars", "0", "1", "--piece", "test:0", "--num", "2",
                        "--steps", "1", "--resample", "1", "--out", str(bars)]) == 0
    check_in_browser(bars / "index.html", tmp_path, expected_players=3)  # two variants and the original


def test_evaluation_page_in_the_browser(tmp_path):
    t = np.arange(TINY_SAMPLE_RATE) / TINY_SAMPLE_RATE
    clips = [(0.3 * np.sin(2 * np.pi * (200 + 100 * i) * t)).astype(np.float32) for i in range(4)]
    sets = [AudioSet("real, other half (floor)", clips, TINY_SAMPLE_RATE, "floor"),
            AudioSet("model <x> & 'y'", clips[:2], TINY_SAMPLE_RATE, "model")]
    rows = [{"name": s.name, "role": s.role, "n_candidate": len(s.clips), "kid": 0.1, "kid_std": 0.01} for s in sets]
    (tmp_path / "evaluation.json").write_text("{}")
    page = listening_page.write_evaluation_page(tmp_path, {"rows": rows}, clips, sets, TINY_SAMPLE_RATE, per_row=3)
    check_in_browser(page, tmp_path, expected_players=3 + 3 + 2)
