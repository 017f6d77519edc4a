"""From a parsed config to a plan: dialect detection, shape validation, the dialects' planners, the plan cache."""
