import Leaf
import Shared

@main
enum Main {
    static func main() async {
        MallocSettings.apply()
        await CanopyLeaf.main()
    }
}
