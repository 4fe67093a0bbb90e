/**
 * Sign in: paste the API token when the page has none, or when the API refused the one it had.
 * The token stays in this tab's sessionStorage and goes only into the Authorization header.
 */
import type { ApiProblem } from '../api.ts';
import { fill, h, uid } from '../dom.ts';
import { code, problem } from '../ui.ts';

/** Draw the sign-in form into `main`; `onToken` gets what the user entered. */
export function signInView(
  main: HTMLElement,
  refused: ApiProblem | undefined,
  onToken: (token: string) => void,
): void {
  const inputId = uid('token');
  const helpId = uid('token-help');
  const input = h('input', {
    id: inputId,
    name: 'token',
    type: 'password',
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': helpId,
  });
  fill(
    main,
    h('h1', { tabindex: '-1' }, 'Sign in to the Flotilla console'),
    refused
      ? problem(refused)
      : h('p', null, 'This page needs the API token to read the fleet. It has none yet.'),
    h(
      'form',
      {
        class: 'sign-in',
        on: {
          submit: (event) => {
            event.preventDefault();
            const token = input.value.trim();
            if (token) onToken(token);
          },
        },
      },
      h('label', { for: inputId }, 'API token'),
      h('div', { class: 'filter-row' }, input, h('button', { type: 'submit', class: 'primary' }, 'Sign in')),
      h(
        'div',
        { id: helpId, class: 'help' },
        h(
          'p',
          null,
          'Open the console through the URL that ',
          code('npx flotilla up'),
          ' or ',
          code('npx flotilla console'),
          ' printed: it carries the token after ',
          code('#'),
          ', a part of the address browsers never send to a server.',
        ),
        h(
          'p',
          null,
          'For the local control plane the token is also in its endpoint file: ',
          code('jq -r .token ~/.flotilla/endpoint.json'),
          '. The page keeps it for this tab only.',
        ),
      ),
    ),
  );
  if (refused) input.focus();
}
