import ArgumentParser

struct Generate: ParsableCommand {
    func run() throws { throw ValidationError("not available yet") }
}
