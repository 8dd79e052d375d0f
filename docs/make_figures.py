"""Draw the figures of the documentation: ``python docs/make_figures.py``.

Writes ``docs/figures/conventions.png``, the picture of ``docs/conventions.md``.
Every image in it is computed with exobench itself (frame centre, polar
coordinates, derotation), so the figure cannot drift from the code.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Arc, Rectangle  # noqa: E402

from exobench.geometry import derotate_cube, frame_center, polar_to_cartesian, rotate_frames  # noqa: E402

OUT = Path(__file__).resolve().parent / "figures"

STAR = "#f2b701"
SOURCE = "#d62728"
THETA = "#1f77b4"
PA = "#2ca02c"


def _gaussian(shape, x0, y0, sigma):
    y, x = np.mgrid[: shape[0], : shape[1]]
    return np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2.0 * sigma**2))


def _pixel_grid(ax, n):
    """An n x n frame drawn as pixels, integer ticks at pixel centres, origin lower left."""
    xc, yc = frame_center((n, n))
    ax.imshow(np.zeros((n, n)), origin="lower", cmap="Greys", vmin=0, vmax=1)
    for k in range(n + 1):
        ax.axhline(k - 0.5, color="0.75" if n < 10 else "0.9", lw=0.6)
        ax.axvline(k - 0.5, color="0.75" if n < 10 else "0.9", lw=0.6)
    ax.add_patch(Rectangle((xc - 0.5, yc - 0.5), 1, 1, color=STAR, alpha=0.8))
    ax.plot([(n - 1) / 2], [(n - 1) / 2], "x", color="0.3", ms=7, mew=1.5)
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xlabel("x (second index)")
    ax.set_ylabel("y (first index)")
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(-0.5, n - 0.5)
    return xc, yc


def panel_centres(ax_odd, ax_even):
    for ax, n in ((ax_odd, 5), (ax_even, 6)):
        xc, yc = _pixel_grid(ax, n)
        parity = "odd" if n % 2 else "even"
        ax.set_title(f"{n}x{n} ({parity}): centre = pixel ({xc:.0f}, {yc:.0f})", fontsize=10)
        ax.annotate(f"image[{yc:.0f}, {xc:.0f}]", (xc, yc), (xc - 0.45, yc + 1.35), fontsize=8,
                    arrowprops=dict(arrowstyle="->", color="0.2", lw=0.8))
    ax_even.annotate("geometric middle (n-1)/2 = 2.5:\nnot the centre", (2.5, 2.5), (0.0, 4.3), fontsize=8,
                     color="0.3", arrowprops=dict(arrowstyle="->", color="0.3", lw=0.8))


def panel_angles(ax):
    n = 21
    xc, yc = _pixel_grid(ax, n)
    ax.set_xticks([0, int(xc), n - 1])
    ax.set_yticks([0, int(yc), n - 1])
    r, theta = 8.0, 135.0
    x, y = polar_to_cartesian(r, theta, center=(xc, yc))
    arrow = dict(arrowstyle="->", color="0.2", lw=1.2)
    ax.annotate("", (xc + 9, yc), (xc, yc), arrowprops=arrow)
    ax.annotate("", (xc, yc + 9), (xc, yc), arrowprops=arrow)
    ax.annotate("", (xc - 9, yc), (xc, yc), arrowprops=arrow)
    ax.text(xc + 8.6, yc - 0.6, "+x\ntheta 0\nPA 270", fontsize=8, va="top", ha="center")
    ax.text(xc + 0.5, yc + 9.3, "+y = north: theta 90, PA 0", fontsize=8, va="top")
    ax.text(xc - 8.6, yc - 0.6, "-x = east\ntheta 180\nPA 90", fontsize=8, va="top", ha="center")
    ax.plot([xc, x], [yc, y], color=SOURCE, lw=1.2)
    ax.plot(x, y, "o", color=SOURCE, ms=8)
    ax.add_patch(Arc((xc, yc), 6, 6, theta1=0, theta2=theta, color=THETA, lw=2.0))
    ax.text(xc + 2.2, yc + 2.6, f"theta = {theta:.0f}", color=THETA, fontsize=9)
    ax.add_patch(Arc((xc, yc), 12, 12, theta1=90, theta2=theta, color=PA, lw=2.0))
    ax.text(0.5, yc + 8.3, f"PA = theta - 90\n     = {(theta - 90) % 360:.0f}", color=PA, fontsize=9)
    ax.text(x + 0.9, y + 0.2, "source", color=SOURCE, fontsize=8)
    ax.set_title("theta: counter-clockwise from +x\nPA: from north (+y) through east (-x)", fontsize=10)


def panel_derotation(ax_frame, ax_final, ax_eidc):
    n = 41
    shape = (n, n)
    center = frame_center(shape)
    r, theta = 12.0, 35.0
    angles = np.linspace(-20.0, 60.0, 9)
    i = 6  # the frame shown (a positive angle: its rotation is counter-clockwise)
    cube = np.array([_gaussian(shape, *polar_to_cartesian(r, theta - a, center=center), 1.6) for a in angles])

    frame = cube[i]
    ax_frame.imshow(frame, origin="lower", cmap="magma")
    ax_frame.plot(*center, "*", color=STAR, ms=12)
    xi, yi = polar_to_cartesian(r, theta - angles[i], center=center)
    ax_frame.annotate(f"theta - angles[i]\n= {theta:.0f} - {angles[i]:.0f} = {theta - angles[i]:.0f}",
                      (xi, yi), (xi - 14, yi + 9), color="w", fontsize=8,
                      arrowprops=dict(arrowstyle="->", color="w", lw=0.8))
    # the way derotation will turn it: counter-clockwise, from theta - angles[i] to theta
    arc = np.radians(np.linspace(theta - angles[i], theta, 30))
    ax_frame.plot(center[0] + (r + 4) * np.cos(arc), center[1] + (r + 4) * np.sin(arc), "w--", lw=1.2)
    tip = [center[0] + (r + 4) * np.cos(arc[-1]), center[1] + (r + 4) * np.sin(arc[-1])]
    back = [center[0] + (r + 4) * np.cos(arc[-3]), center[1] + (r + 4) * np.sin(arc[-3])]
    ax_frame.annotate("", tip, back, arrowprops=dict(arrowstyle="->", color="w", lw=1.4))
    ax_frame.text(tip[0], tip[1] + 1.2, "derotation", color="w", fontsize=8, ha="center")
    ax_frame.set_title(f"frame i of the cube, angles[i] = {angles[i]:.0f}:\nthe source at theta - angles[i]",
                       fontsize=10)

    derotated = rotate_frames(frame, angles[i])  # counter-clockwise by angles[i]
    ax_final.imshow(derotated, origin="lower", cmap="magma")
    ax_final.plot(*center, "*", color=STAR, ms=12)
    xf, yf = polar_to_cartesian(r, theta, center=center)
    ax_final.annotate(f"theta = {theta:.0f}", (xf, yf), (xf - 10, yf + 9), color="w", fontsize=8,
                      arrowprops=dict(arrowstyle="->", color="w", lw=0.8))
    ax_final.set_title("rotate_frames(frame_i, angles[i]): turned\ncounter-clockwise, the source is at theta",
                       fontsize=10)

    # the organisers' recipe: fakes placed with -angles, published angles -angles, real sky smears
    real = np.array([_gaussian(shape, *polar_to_cartesian(r, 200.0 - a, center=center), 1.6) for a in angles])
    fakes = np.array([_gaussian(shape, *polar_to_cartesian(r, theta + a, center=center), 1.6) for a in angles])
    final = derotate_cube(real + fakes, -angles).mean(axis=0)
    ax_eidc.imshow(final, origin="lower", cmap="magma")
    ax_eidc.plot(*center, "*", color=STAR, ms=12)
    ax_eidc.annotate("fake: sharp", (xf, yf), (xf - 9, yf + 7), color="w", fontsize=8,
                     arrowprops=dict(arrowstyle="->", color="w", lw=0.8))
    xr, yr = polar_to_cartesian(r, 200.0, center=center)
    ax_eidc.text(xr - 3, yr - 9, "real source:\nsmeared", color="w", fontsize=8)
    ax_eidc.set_title("inverse-angle injection (true angles a): fake at\n"
                      "theta + a[i], angles file -a; derotated mean", fontsize=10)
    for ax in (ax_frame, ax_final, ax_eidc):
        ax.set_xticks([0, int(center[0]), n - 1])
        ax.set_yticks([0, int(center[1]), n - 1])


def conventions_figure(path):
    fig, axes = plt.subplots(2, 3, figsize=(13.5, 9.0))
    panel_centres(axes[0, 0], axes[0, 1])
    panel_angles(axes[0, 2])
    panel_derotation(axes[1, 0], axes[1, 1], axes[1, 2])
    fig.suptitle("exobench conventions: image[y, x] shown with origin='lower'; positions are (x, y)", fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    conventions_figure(OUT / "conventions.png")
    print(f"wrote {OUT / 'conventions.png'}")


if __name__ == "__main__":
    main()
