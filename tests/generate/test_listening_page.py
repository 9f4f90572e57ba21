"""The listening pages' builder (`generate.listening_page`) and their spectrogram images (`generate.clip_images`)."""

import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import matplotlib.image
import numpy as np
import pytest
import soundfile as sf

from common.errors import ParameterError
from evaluation.compare import AudioSet
from generate import listening_page
from generate.clip_images import spectrogram_db, write_spectrogram_png
from generate.wav_file import write_wav

SR = 8000


class Links(HTMLParser):
    """Every ``src`` and ``href`` of a page, by tag, and whether it holds a script."""

    def __init__(self):
        super().__init__()
        self.links, self.scripts, self.durations = [], 0, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.scripts += tag == "script" or any(name.startswith("on") for name in attrs)
        for name in ("src", "href"):
            if name in attrs:
                self.links.append((tag, attrs[name]))
        if tag == "audio":
            self.durations[attrs["src"]] = float(attrs["data-duration"])


def read_links(page):
    parser = Links()
    parser.feed(Path(page).read_text(encoding="utf-8"))
    return parser


def tone(seconds, frequency=440.0, amplitude=0.5):
    return (amplitude * np.sin(2 * np.pi * frequency * np.arange(int(seconds * SR)) / SR)).astype(np.float32)


def check_self_contained(page):
    """Every link relative and to a file that exists in the page's folder or below; no script."""
    parser = read_links(page)
    folder = Path(page).parent.resolve()
    assert parser.scripts == 0
    for tag, link in parser.links:
        assert "://" not in link and not link.startswith("/") and ".." not in link, link
        target = (folder / unquote(link)).resolve()
        assert target.is_file() and folder in target.parents, link
    return parser


def test_spectrogram_db_puts_a_sine_at_its_frequency_and_level():
    db, hop = spectrogram_db(tone(1.0, 1000.0, 0.5), SR)
    assert hop == 256 and db.shape == (513, 1 + SR // 256)
    peak_bin = int(np.argmax(db[:, db.shape[1] // 2]))
    assert abs(peak_bin * SR / 1024 - 1000.0) <= SR / 1024
    assert db.max() == pytest.approx(20 * np.log10(0.5), abs=0.3)  # dB re full scale: -6.02 dB
    long_db, long_hop = spectrogram_db(np.zeros(600 * SR, np.float32), SR)
    assert long_db.shape[1] <= 1601 and long_hop == 600 * SR // 1600 and long_db.min() == -90.0
    with pytest.raises(ParameterError, match="shape"):
        spectrogram_db(np.zeros((2, 10)), SR)
    with pytest.raises(ParameterError, match="sample_rate=0"):
        spectrogram_db(np.zeros(10), 0)


def test_spectrogram_png_sizes_and_marks(tmp_path):
    clip = write_spectrogram_png(tmp_path / "clip.png", tone(1.5), SR)
    assert matplotlib.image.imread(clip).shape[:2] == (136, 272)
    piece = write_spectrogram_png(tmp_path / "piece.png", tone(20.0), SR, marks_s=[1.0, 10.0])
    assert matplotlib.image.imread(piece).shape[:2] == (136, 560)  # 0.35 in/s * 20 s at 80 dpi
    with pytest.raises(ParameterError, match="mark=21"):
        write_spectrogram_png(tmp_path / "bad.png", tone(20.0), SR, marks_s=[21.0])
    assert not (tmp_path / "bad.png").exists()


@pytest.mark.parametrize("path", ["/abs/x.wav", "../x.wav", "a/../../x.wav", "C:\\x.wav", "http://host/x.wav", ""])
def test_relative_link_refuses_links_out_of_the_folder(path):
    with pytest.raises(ParameterError, match="Received: path="):
        listening_page.relative_link(path)


def test_relative_link_encodes_names():
    assert listening_page.relative_link("clips/a b#1.wav") == "clips/a%20b%231.wav"


def test_render_page_escapes_the_runs_text():
    clip = listening_page.Clip('x "y".wav', "x.png", "<b>caption</b> & 'q'", 1.5)
    page = listening_page.render_page("<script>alert(1)</script>", [
        ("Settings", listening_page.settings_table([("prompt", '"><script>x</script>'), ("seeds", [0, 1])])),
        ("Clips", listening_page.clip_figure(clip)),
    ])
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;caption&lt;/b&gt; &amp; &#x27;q&#x27; (1.50 s)" in page
    assert 'src="x%20%22y%22.wav"' in page and "<td>0, 1</td>" in page
    assert page.startswith("<!DOCTYPE html>") and page.count("<audio") == 1


def sounds_report():
    return {"model_dir": "saved_models/<ddim>", "kind": "ddim", "sampler": "ddim", "diffusion_steps": 10,
            "seeds": [0, 1], "label": None, "prompt": "a <chorale>", "guidance_scale": 3.0, "audio_seconds": 3.0,
            "real_time_factor": 12.5, "cold_real_time_factor": 2.25,
            "timing": {"warm": {"seconds": 0.24}, "cold": {"seconds": 1.33}}}


def test_sounds_page_references_every_wav_with_its_spectrogram(tmp_path):
    generated, originals = [tone(1.5, 440.0), tone(1.5, 660.0)], [tone(1.5, 220.0), tone(1.0, 330.0)]
    for i in range(2):
        write_wav(tmp_path / f"generated_{i:02d}.wav", generated[i], SR)
        write_wav(tmp_path / f"original_{i:02d}.wav", originals[i], SR)
    (tmp_path / "comparison.png").write_bytes(b"png")
    (tmp_path / "generated_00.mid").write_bytes(b"MThd")  # a piano-roll model's MIDI: linked
    (tmp_path / "report.json").write_text(json.dumps(sounds_report()))
    page = listening_page.write_sounds_page(tmp_path, sounds_report(), generated, originals, SR)
    assert page == tmp_path / "index.html"
    parser = check_self_contained(page)
    audio = [link for tag, link in parser.links if tag == "audio"]
    assert sorted(audio) == sorted(p.name for p in tmp_path.glob("*.wav"))
    assert parser.durations["original_01.wav"] == pytest.approx(sf.info(tmp_path / "original_01.wav").duration)
    images = [link for tag, link in parser.links if tag == "img"]
    assert sorted(images) == sorted(Path(a).with_suffix(".png").name for a in audio)
    text = page.read_text()
    assert ("a", "generated_00.mid") in parser.links
    for expected in ("12.5", "2.25", "a &lt;chorale&gt;", "saved_models/&lt;ddim&gt;", ">10<", "0, 1"):
        assert expected in text


def test_piece_page_marks_and_names_files_after_the_wav(tmp_path):
    audio = tone(6.0)
    write_wav(tmp_path / "long.wav", audio, SR)
    report = {"mode": "long", "model_dir": "m", "seed": 3, "diffusion_steps": 2, "windows": 4,
              "seams": {"ratio": 1.07}, "audio_seconds": 6.0, "wall_seconds": 2.0, "real_time_factor": 3.0}
    (tmp_path / "long.json").write_text(json.dumps(report))
    page = listening_page.write_piece_page(tmp_path / "long.wav", report, audio, SR, [1.5, 3.0, 4.5])
    assert page == tmp_path / "long.html"
    parser = check_self_contained(page)
    assert [link for tag, link in parser.links if tag in ("audio", "img")] == ["long.png", "long.wav"]
    assert "seam flux ratio" in page.read_text() and "masked DDIM" in page.read_text()


def test_evaluation_page_has_the_scores_and_players_per_row(tmp_path):
    reference = [tone(1.0, 200.0 + 50 * i) for i in range(4)]
    sets = [AudioSet("real, other half (floor)", reference, SR, "floor"),
            AudioSet("real + white noise 20 dB SNR", reference, SR, "ceiling"),
            AudioSet("ddim/x (DDIM, 2 steps)", reference[:2], SR, "model")]
    rows = [{"name": s.name, "role": s.role, "n_candidate": len(s.clips), "fad": None, "kid": 0.0123 * k,
             "kid_std": 0.001} for k, s in enumerate(sets)]
    report = {"rows": rows, "models": ["ddim/x"], "n_per_set": 4}
    (tmp_path / "evaluation.json").write_text(json.dumps(report))
    write_spectrogram_png(tmp_path / "memorisation.png", tone(1.0), SR)  # stands in for the check's plot
    page = listening_page.write_evaluation_page(tmp_path, report, reference, sets, SR, per_row=3)
    parser = check_self_contained(page)
    audio = [link for tag, link in parser.links if tag == "audio"]
    assert len(audio) == 3 + 3 + 3 + 2 and len(set(audio)) == len(audio)
    assert sorted(audio) == sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "clips").glob("*.wav"))
    text = page.read_text()
    assert text.count("<tr>") == 9 + 1 + 1 + len(sets)  # the settings; the scores: header, half A, the sets
    assert ">0.0246<" in text and ">0.0010<" in text and "floor" in text and ("img", "memorisation.png") in parser.links
    with pytest.raises(ParameterError, match="per_row=0"):
        listening_page.write_evaluation_page(tmp_path, report, reference, sets, SR, per_row=0)
    with pytest.raises(ParameterError, match="len\\(sets\\)=2"):
        listening_page.write_evaluation_page(tmp_path, report, reference, sets[:2], SR)
