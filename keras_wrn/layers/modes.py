"""How stochastic depth drops residual branches: whole batches or single samples (no Keras
import, so configuration flags list the choices without loading Keras)."""

DROP_MODES = ("batch", "sample")
