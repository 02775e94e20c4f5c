"""`caravan lab`: the model in the browser, on Mesa's SolaraViz (the optional extra `lab`).

- `levers`: the policy levers as changes to a scenario (no interface library);
- `model`: `LabModel`, the outcomes beside the reported figures, the paired comparison with
  the calibrated scenario (no interface library);
- `app`: the solara page (imports solara and Mesa's visualization);
- `server`: checks the extra is installed, picks a port and starts solara's server.
"""
