import ArgumentParser

struct Info: ParsableCommand {
    func run() throws { throw ValidationError("not available yet") }
}
