import Leaf

@main
enum Main {
    static func main() async { await CanopyLeaf.main() }
}
