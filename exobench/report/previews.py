"""Previews of datasets (first frame, derotated mean, PSF): matplotlib, Agg backend, no screen needed."""

import numpy as np

from .._atomic import atomic_write
from ..geometry import derotate_cube

__all__ = ["plot_datasets"]


def plot_datasets(datasets, path):
    """Save one row per dataset: first frame, derotated mean, PSF (log scale) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(datasets), 3, figsize=(10, 3.3 * len(datasets)), squeeze=False)
    for row, dataset in zip(axes, datasets):
        cube = dataset.cube if not dataset.is_4d else dataset.cube.mean(axis=0)
        final = derotate_cube(cube, dataset.angles).mean(axis=0)
        panels = [(cube[0], "first frame"), (final, "derotated mean")]
        if dataset.psf is not None:
            psf = dataset.psf if dataset.psf.ndim == 2 else dataset.psf.mean(axis=0)
            panels.append((psf, "off-axis PSF"))
        for ax, (image, title) in zip(row, panels):
            shown = np.log10(np.clip(image - np.nanmin(image), 1e-12, None) + 1e-3 * np.nanmax(image))
            ax.imshow(shown, origin="lower", cmap="inferno")
            ax.set_title(f"{dataset.instrument} #{dataset.dataset_id}: {title}", fontsize=9)
            ax.set_xlabel("x [px]")
            ax.set_ylabel("y [px]")
        for ax in row[len(panels):]:
            ax.axis("off")
    fig.tight_layout()
    with atomic_write(path, mode="wb") as handle:
        fig.savefig(handle, format="png", dpi=90)
    plt.close(fig)
