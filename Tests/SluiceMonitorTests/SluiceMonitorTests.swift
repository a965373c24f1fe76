// Tests of SluiceMonitor.
