// Foliate's pop-up notes, wired as the Foliate app wires them (johnfactotum/foliate,
// src/reader/reader.js): every link the view reports goes to foliate-js's own
// FootnoteHandler (footnotes.js), which decides whether the link is a note
// reference; if so it opens the note in a second view, in a dialog, instead of
// turning the page. Each pop-up is recorded in window.popups for drive.mjs.
import { FootnoteHandler } from './node_modules/foliate-js/footnotes.js'

export function installFootnotes(view, styles) {
    const handler = new FootnoteHandler()
    const dialog = document.createElement('dialog')
    dialog.id = 'footnote-popup'
    dialog.style.cssText = 'width: 80%; height: 35%; padding: 0; border: 1px solid #888'
    const main = document.createElement('main')
    main.style.cssText = 'display: block; width: 100%; height: 100%'
    dialog.append(main)
    document.body.append(dialog)
    window.popups = []

    handler.addEventListener('before-render', e => {
        const { view: popupView } = e.detail
        popupView.style.cssText = 'display: block; width: 100%; height: 100%'
        // Open before the note loads, so the view is laid out once at its final size
        // (a resize while its document loads made foliate-js render into no body).
        if (!dialog.open) dialog.showModal()
        // The last pop-up's view is closed before it is replaced (its renderer stops
        // watching its size): taken out of the page while still watched, foliate-js
        // laid it out again into a document it had already let go, with no body.
        main.firstElementChild?.close?.()
        main.replaceChildren(popupView)
        popupView.renderer.setAttribute('flow', 'scrolled')
        popupView.renderer.setStyles?.(styles)
    })
    handler.addEventListener('render', e => {
        const { href, type, hidden, target, view: popupView } = e.detail
        const doc = popupView.renderer.getContents?.()?.[0]?.doc
        window.popups.push({
            href, type, hidden,
            targetId: target?.id ?? null,
            text: (doc?.body?.textContent ?? '').replace(/\s+/g, ' ').trim(),
        })
    })
    view.addEventListener('link', e => handler.handle(view.book, e)?.catch(error =>
        window.readerErrors.push(`footnote: ${error?.stack ?? error}`)))
    return {
        popups: () => window.popups,
        // As the app does: the dialog closes, its view stays until the next pop-up.
        close: () => dialog.close(),
    }
}
