import Foundation
import SluiceCore
import SluiceML
import Testing

@Suite struct ThreadCountTests {
    @Test func sluiceThreadsOverridesTheCoreCount() {
        let cores = threadCount(environment: nil)
        #expect(cores >= 1 && cores <= 256)
        #expect(threadCount(environment: "3") == 3)
        #expect(threadCount(environment: " 16 ") == 16)
        #expect(threadCount(environment: "0") == cores)
        #expect(threadCount(environment: "many") == cores)
    }

    /// The same thread count trains the same model, whatever the machine's cores.
    @Test func aGivenThreadCountTrainsTheSameModel() throws {
        var rng = SplitMix64(seed: 3)
        let n = 25_000
        let values = (0..<(n * 4)).map { _ in rng.nextUnit() }
        let x = Matrix(rows: n, cols: 4, values: values)
        let y = (0..<n).map { values[$0 * 4] + values[$0 * 4 + 1] > 1 ? 1.0 : 0 }
        var parameters = try GBDTParameters(options: ["objective": "binary:logistic", "num_round": "5"])
        for threads in [1, 3, 8] {
            parameters.threads = threads
            let first = try GBDT.fit(x, y, parameters: parameters)
            let second = try GBDT.fit(x, y, parameters: parameters)
            #expect(first == second, "\(threads) threads")
        }
    }
}
