"""Every worker of a multi-worker run resolves its plan alone; this makes them agree before
the first collective. Workers with other devices or flags (a GPU worker beside a CPU one, 4 GPUs
beside 2, fp16 beside bf16) would otherwise mix collectives, precisions, steps per loop or
replica counts and hang. Each worker publishes its plan in the cluster's coordination service
(the key-value store tf.distribute's preemption handling uses) and reads every other's."""

from __future__ import annotations

import json
from typing import Any

from keras_wrn.runtime.plan import PlanError, RuntimePlan

PLAN_KEY = "keras_wrn/runtime_plan/{task}"
WAIT_MS = 600_000  # for every worker's plan: workers may start minutes apart under a scheduler


def plan_differences(plans: dict[int, dict[str, Any]]) -> str:
    """The fields on which the workers' ``plans`` (by task index) differ, with each worker's
    value, as one phrase; empty when they agree."""
    fields = []
    for name in next(iter(plans.values())):
        values = {task: plan.get(name) for task, plan in sorted(plans.items())}
        if len({json.dumps(v) for v in values.values()}) > 1:
            shown = ", ".join(f"worker {task}: {value}" for task, value in values.items())
            fields.append(f"{name} ({shown})")
    return "; ".join(fields)


def agree_on_plan(plan: RuntimePlan, task: int, workers: int) -> None:
    """Publishes this worker's ``plan`` as task ``task`` and compares it with the other
    ``workers`` - 1; raises PlanError naming the fields that differ. Every worker raises the
    same error, so all stop instead of hanging in their first collective."""
    from tensorflow.python.eager import context

    ctx = context.context()
    ctx.set_config_key_value(PLAN_KEY.format(task=task), json.dumps(plan.to_dict()))
    plans = {i: json.loads(ctx.get_config_key_value(PLAN_KEY.format(task=i), WAIT_MS))
             for i in range(workers)}
    differences = plan_differences(plans)
    if differences:
        raise PlanError(f"the workers resolved different runtime plans: {differences}; give "
                        "every worker the same devices and the same flags.")
