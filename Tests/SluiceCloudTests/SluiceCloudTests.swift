// Tests of SluiceCloud.
