// SluiceCloud: the AWS side of Sluice (SigV4, configuration, S3, Step Functions and SageMaker export).
