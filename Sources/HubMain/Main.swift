import Hub
import Shared

@main
enum Main {
    static func main() async {
        MallocSettings.apply()
        await CanopyHub.main()
    }
}
