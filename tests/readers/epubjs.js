// The epub.js reader page: a paginated rendition filling #viewer, one page at a
// time, with no styles of the reader's own (epub.js adds none by default).
// epub.min.js and jszip.min.js are classic scripts in epubjs.html (globals ePub, JSZip).
import { installErrorTraps, inspect, locate, rootPath, settled, visibleIds } from './common.js'

installErrorTraps()

const host = document.getElementById('viewer')
let book, rendition, opfFolder

const tree = (items, base) => (items ?? []).map(item => ({
    label: item.label ?? null,
    href: item.href == null ? null : rootPath(item.href, base),
    children: tree(item.subitems, base),
}))

// The contents (document in its iframe) of spine item `index`, if it is shown.
const contentsOf = index => rendition.getContents().find(c => c.sectionIndex === index)
const shown = () => {
    const start = rendition.currentLocation()?.start
    return start ? contentsOf(start.index) : rendition.getContents()[0]
}

// rendition.display() never settles when displaying fails: say so, and give up
// after a bound (drive.mjs bounds every call as well).
const display = target => {
    let failed
    return new Promise((resolve, reject) => {
        failed = err => reject(new Error(`epub.js could not display ${target}: ${err?.message ?? err}`))
        rendition.on('displayError', failed)
        rendition.display(target).then(resolve, failed)
    }).finally(() => rendition.off('displayError', failed))
}

window.reader = {
    name: 'epub.js',
    async open(url) {
        book = ePub(url, { openAs: 'epub' })
        rendition = book.renderTo(host, {
            width: '100%', height: '100%', flow: 'paginated', spread: 'none',
            manager: 'default', allowScriptedContent: false,
        })
        rendition.on('displayError', err => {
            console.error(`epub.js displayError: ${err?.message ?? err}`)
        })
        await book.ready
        const metadata = await book.loaded.metadata
        const navigation = await book.loaded.navigation
        // epub.js keeps hrefs relative to the package document's folder
        opfFolder = book.path.directory.replace(/^\/+/, '')
        const navPath = book.packaging.navPath ?? book.packaging.ncxPath ?? ''
        const navBase = opfFolder + navPath
        return {
            title: metadata.title ?? null,
            language: [metadata.language].flat().filter(Boolean),
            authors: [metadata.creator].flat().filter(Boolean),
            spine: book.spine.spineItems.map(s => rootPath(s.href, opfFolder)),
            toc: tree(navigation.toc, navBase),
            landmarks: (navigation.landmarks ?? []).map(l => ({
                type: l.type, href: l.href == null ? null : rootPath(l.href, navBase) })),
        }
    },
    // Show the first page of spine item `index` (by href: display(0) means "the
    // first linear item" to epub.js).
    async showSection(index) {
        await display(book.spine.get(index).href)
        return this.state()
    },
    // Show the page holding the element with this id in spine item `index`.
    async showElement(index, id) {
        await display(`${book.spine.get(index).href}#${id}`)
        return this.state()
    },
    async state() {
        const contents = shown()
        await settled(contents?.document)
        return {
            index: contents?.sectionIndex ?? null,
            href: contents ? rootPath(book.spine.get(contents.sectionIndex).href, opfFolder) : null,
            visibleIds: visibleIds(contents?.document, host),
        }
    },
    inspect: () => inspect(shown()?.document),
    showing(index, selector) {
        const contents = contentsOf(index)
        return !!contents && locate(contents.document, selector, host).visible
    },
    locate: selector => locate(shown()?.document, selector, host),
}
window.readerReady = true
