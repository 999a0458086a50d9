"""The ground floor every part of keras_wrn builds on: files written whole (atomic writes, PNG
pictures among them), locks on a run folder, stop signals that are never lost and the watchdog
that ends a stuck process, the terminal line a progress bar holds, and the configuration
fields' declaration. Nothing here imports training, tuning or export."""
