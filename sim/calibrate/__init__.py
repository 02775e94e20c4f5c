"""Calibration: fitting a scenario's free parameters to a target set by approximate Bayesian
computation (ABC-SMC), with the simulations run through the sweep machinery."""
