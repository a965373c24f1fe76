import SluiceCLI

await runSluiceBench()
