import ArgumentParser

struct Tokenize: ParsableCommand {
    func run() throws { throw ValidationError("not available yet") }
}
