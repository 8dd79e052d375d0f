"""Tests of the CNN subpackage (exobench.cnn)."""
