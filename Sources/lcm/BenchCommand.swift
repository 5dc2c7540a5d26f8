import ArgumentParser

struct Bench: ParsableCommand {
    func run() throws { throw ValidationError("not available yet") }
}
