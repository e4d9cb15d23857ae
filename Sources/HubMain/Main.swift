import Hub

@main
enum Main {
    static func main() async { await CanopyHub.main() }
}
