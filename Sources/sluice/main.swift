import SluiceCLI

await runSluice()
