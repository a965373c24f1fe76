import Testing

@testable import SluiceExecutors

/// The registered version a step names: `Group/N` as the registry writes it, or the ARN of the same versioned model
/// package, as an exported Step Functions machine's registration answers with it.
@Suite struct ModelVersionReferenceTests {
    @Test func groupSlashNumberAndAVersionedPackageARNNameTheSameVersion() {
        let local = modelVersionReference("churn-models/3")
        #expect(local?.group == "churn-models" && local?.version == 3)
        let arn = modelVersionReference("arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-models/3")
        #expect(arn?.group == "churn-models" && arn?.version == 3)
        let china = modelVersionReference("arn:aws-cn:sagemaker:cn-north-1:123456789012:model-package/Abalone/12")
        #expect(china?.group == "Abalone" && china?.version == 12)
    }

    @Test func referencesWithoutAVersionAreRefused() {
        #expect(modelVersionReference("churn-models") == nil)
        #expect(modelVersionReference("churn-models/latest") == nil)
        #expect(modelVersionReference("/3") == nil)
        // An unversioned package's ARN names no version.
        #expect(modelVersionReference("arn:aws:sagemaker:us-east-1:123456789012:model-package/standalone") == nil)
    }
}
