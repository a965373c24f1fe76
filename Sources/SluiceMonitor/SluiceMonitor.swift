// SluiceMonitor: baselines, drift statistics, constraint violations and model quality over captured traffic.
