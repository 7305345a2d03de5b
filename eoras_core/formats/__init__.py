"""Label file formats, each read and written from `eoras_core.labels.VideoLabels` at the source resolution."""
