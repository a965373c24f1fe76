public import SluiceCore

extension ArtifactStore: ArtifactLocating {}
