"""The comparison figure: a grid of generated-above-original pairs, bounded in width, every clip drawn."""

import io

import matplotlib
import numpy as np
import pytest
from PIL import Image

from common.errors import ParameterError
from generate.plots import MAX_PAIRS_PER_ROW, grid_shape, plot_comparison
from preprocessing.log_spectrogram import LogSpectrogramExtractor

TRANSFORM = LogSpectrogramExtractor(8000, n_fft=64, hop_length=16)  # 32 bins


def constant_clips(values):
    return [np.full((32, 12), float(v), np.float32) for v in values]


def centroids(image, values, vmax):
    """Where each constant clip's colour is in the image, left of the colour bar: ``{value: (x, y)}``."""
    pixels = np.asarray(image.convert("RGB")).astype(int)[:, : image.width - 80]  # the colour bar is in the last 80 px
    found = {}
    for value in values:
        colour = np.round(np.array(matplotlib.colormaps["magma"](value / vmax)[:3]) * 255)
        ys, xs = np.nonzero(np.all(pixels == colour, axis=-1))
        found[value] = (xs.mean(), ys.mean()) if len(xs) > 100 else None
    return found


@pytest.mark.parametrize("num, shape", [(1, (1, 1)), (4, (1, 4)), (6, (1, 6)), (7, (2, 4)), (13, (3, 5)), (60, (10, 6))])
def test_grid_shape(num, shape):
    assert grid_shape(num) == shape
    rows, columns = grid_shape(num)
    assert columns <= MAX_PAIRS_PER_ROW and rows * columns >= num > (rows - 1) * columns


@pytest.mark.parametrize("num", [4, 60])
def test_every_clip_is_drawn_above_its_original_in_a_bounded_width(tmp_path, num):
    # clip i: generated has the value 2i, its original 2i + 1, so each has its own colour of one shared scale
    generated, originals = constant_clips(range(0, 2 * num, 2)), constant_clips(range(1, 2 * num, 2))
    path = plot_comparison(generated, originals, TRANSFORM, tmp_path / "comparison.png", "test")
    image = Image.open(path)
    assert image.width <= 1400 and image.height <= 300 * grid_shape(num)[0] + 100
    found = centroids(image, range(2 * num), vmax=2 * num - 1)
    assert all(found.values()), [v for v, where in found.items() if where is None]
    columns = grid_shape(num)[1]
    for i in range(num):
        (gx, gy), (ox, oy) = found[2 * i], found[2 * i + 1]
        assert abs(gx - ox) < 2 and 0 < oy - gy < 150  # directly above its own original
        if i % columns:
            assert found[2 * (i - 1)][0] < gx and abs(found[2 * (i - 1)][1] - gy) < 2  # same row, to the right
    if num == 60:
        assert image.width > Image.open(plot_comparison(generated[:4], originals[:4], TRANSFORM,
                                                        tmp_path / "four.png")).width


def test_generated_alone_and_bad_input(tmp_path):
    path = plot_comparison(constant_clips([0, 1, 2]), [], TRANSFORM, tmp_path / "alone.png")
    assert all(centroids(Image.open(path), [0, 1, 2], vmax=2).values())
    with pytest.raises(ParameterError, match="len\\(generated\\)=0"):
        plot_comparison([], [], TRANSFORM, tmp_path / "x.png")
    with pytest.raises(ParameterError, match="len\\(originals\\)=2"):
        plot_comparison(constant_clips([0, 1, 2]), constant_clips([0, 1]), TRANSFORM, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_a_long_title_is_wrapped_inside_the_figure(tmp_path):
    title = "ddim run, prompt '" + "a four-part Bach chorale in D major, played on acoustic grand piano " * 2 + "', 6 steps"
    short = Image.open(plot_comparison(constant_clips([0, 1]), [], TRANSFORM, tmp_path / "short.png", "short"))
    long = Image.open(plot_comparison(constant_clips([0, 1]), [], TRANSFORM, tmp_path / "long.png", title))
    assert long.width == short.width and long.height > short.height  # more lines, not a wider figure
    band = np.asarray(long.convert("L"))[: long.height - short.height + 25]  # the title's lines, above the panels
    ink = np.nonzero(band.min(axis=0) < 128)[0]
    assert len(ink) > 0 and ink.min() > 2 and ink.max() < long.width - 3  # no line cut off at either edge
