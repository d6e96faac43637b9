// The landing page in the reader's language: every element marked `data-i18n="key"` gets the message's
// text (`data-i18n-html` for our own messages with links), and the language switch goes into the page.
// The English text is also in the HTML itself, for a browser without JavaScript.
import { t, addMessages } from '/shared/i18n.js';
import landing from '/shared/messages/landing.js';
import '/shared/shell.js';

addMessages(landing);
for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
for (const el of document.querySelectorAll('[data-i18n-html]')) el.innerHTML = t(el.dataset.i18nHtml);
