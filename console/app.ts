/**
 * The Flotilla console: a single page over the Flotilla API. This entry point takes the token
 * from the URL's fragment (which browsers never send to a server) into sessionStorage and drops
 * it from the address bar, routes `/console/...` paths to views with the History API, and
 * re-draws the sign-in form whenever the API answers 401.
 */
import { Api, type ApiProblem, session } from './api.ts';
import { fill, h } from './dom.ts';
import { ago } from './format.ts';
import { emptyState, link } from './ui.ts';
import type { View, ViewContext } from './view.ts';
import { deploymentView } from './views/deployment.ts';
import { deploymentsView } from './views/deployments.ts';
import { eventsView } from './views/events.ts';
import { executionView } from './views/execution.ts';
import { fleetView } from './views/fleet.ts';
import { signInView } from './views/sign-in.ts';

/** Where the console lives on its server. */
const BASE = '/console';

interface Route {
  readonly pattern: RegExp;
  readonly nav: string;
  readonly view: View;
}

const ROUTES: readonly Route[] = [
  { pattern: /^\/(?:fleet)?$/, nav: 'fleet', view: fleetView },
  { pattern: /^\/deployments$/, nav: 'deployments', view: deploymentsView },
  { pattern: /^\/deployments\/([^/]+)$/, nav: 'deployments', view: deploymentView },
  { pattern: /^\/executions\/([^/]+)$/, nav: 'deployments', view: executionView },
  { pattern: /^\/events$/, nav: 'events', view: eventsView },
];

function meta(name: string): string {
  return document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';
}

function mainElement(): HTMLElement {
  const main = document.getElementById('main');
  if (!main) throw new Error('the page has no <main id="main">');
  return main;
}

const main = mainElement();
const signOut = document.getElementById('sign-out');
const apiLabel = document.getElementById('api-label');
const who = document.getElementById('who');
if (apiLabel) apiLabel.textContent = meta('flotilla-api-label');

// The token arrives as `#token=…`: keep it for this tab and take it out of the address bar
// (and of this history entry) at once.
const fragment = new URLSearchParams(window.location.hash.slice(1));
const fromUrl = fragment.get('token');
if (fromUrl) {
  session.set(fromUrl);
  window.history.replaceState(
    window.history.state,
    '',
    `${window.location.pathname}${window.location.search}`,
  );
}

let current: AbortController | undefined;
let refused: ApiProblem | undefined;
let firstRender = true;

const api = new Api(meta('flotilla-api'), (problem) => {
  session.clear();
  api.forget();
  refused = problem;
  render();
});

function navigate(path: string, options: { replace?: boolean } = {}): void {
  const url = `${BASE}${path}`;
  if (options.replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  render();
}

function setNav(active: string | undefined): void {
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav.main-nav a[data-nav]')) {
    if (a.dataset.nav === active) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function render(): void {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const path = window.location.pathname.slice(BASE.length).replace(/\/+$/, '') || '/';
  const focus = !firstRender;
  firstRender = false;
  if (signOut) signOut.hidden = !session.token();
  showWho();

  if (!session.token()) {
    setNav(undefined);
    document.title = 'Sign in · Flotilla';
    signInView(main, refused, (token) => {
      session.set(token);
      api.forget();
      refused = undefined;
      render();
    });
    return;
  }
  for (const route of ROUTES) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    setNav(route.nav);
    const ctx: ViewContext = {
      api,
      main,
      signal: controller.signal,
      params: match.slice(1).map((p) => decodeURIComponent(p)),
      query: new URLSearchParams(window.location.search),
      navigate,
      setTitle: (title) => {
        document.title = `${title} · Flotilla`;
      },
    };
    void Promise.resolve(route.view(ctx)).catch((error: unknown) => {
      if (!controller.signal.aborted) console.error(error);
    });
    // A new page: move focus to its heading so assistive technology reads where we are.
    if (focus) main.querySelector<HTMLElement>('h1')?.focus();
    return;
  }
  setNav(undefined);
  document.title = 'Not found · Flotilla';
  fill(
    main,
    h('h1', { tabindex: '-1' }, 'Not found'),
    emptyState('The console has no page here.', h('p', null, 'Go to the ', link('/', 'fleet'), '.')),
  );
}

document.addEventListener('click', (event) => {
  if (
    event.defaultPrevented ||
    event.button !== 0 ||
    event.metaKey ||
    event.ctrlKey ||
    event.shiftKey ||
    event.altKey
  )
    return;
  const anchor = event.target instanceof Element ? event.target.closest('a[data-link]') : null;
  if (!(anchor instanceof HTMLAnchorElement)) return;
  const url = new URL(anchor.href);
  if (url.origin !== window.location.origin || !url.pathname.startsWith(BASE)) return;
  event.preventDefault();
  if (`${url.pathname}${url.search}` === `${window.location.pathname}${window.location.search}`) return;
  navigate(`${url.pathname.slice(BASE.length)}${url.search}`);
});

window.addEventListener('popstate', () => render());

/** The tenant and role signed in, in the header, as the API states them. */
function showWho(): void {
  if (!who) return;
  if (!session.token()) {
    who.hidden = true;
    return;
  }
  api.me().then(
    (me) => {
      who.textContent =
        me.principal.kind === 'platform'
          ? `platform administrator · acting in ${me.tenant}`
          : `${me.tenant} · ${me.role}`;
      who.title = me.principal.subject;
      who.hidden = false;
    },
    () => {
      who.hidden = true;
    },
  );
}

signOut?.addEventListener('click', () => {
  session.clear();
  api.forget();
  refused = undefined;
  render();
});

// Relative times stay true while the page is open.
window.setInterval(() => {
  for (const el of document.querySelectorAll<HTMLTimeElement>('time[data-ago]')) {
    el.textContent = ago(el.dateTime);
  }
}, 5_000);

render();
