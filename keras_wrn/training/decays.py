"""The learning-rate decays a recipe names (the schedule itself is `schedule.WarmupDecay`); kept
apart from it so configuration flags list them without importing Keras."""

SCHEDULES = ("step", "cosine")
