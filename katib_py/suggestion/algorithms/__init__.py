"""katib-py's built-in algorithms, one module each (as Optuna keeps its samplers in `optuna.samplers`).

Suggestion: random, grid, tpe, multivariate_tpe (`multivariate-tpe`), nsga2, cmaes, sobol,
bayesianoptimization, hyperband, pbt. Early stopping: medianstop. Nothing here is imported by the
framework: a service imports only the module of the algorithm it serves.
"""
