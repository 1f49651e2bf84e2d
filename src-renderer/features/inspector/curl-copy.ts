/** Copy as cURL for a flow: its request with the body as sent (read through `flows.bodyPart`). */
import { MAX_BODY_PART } from '../../../src-common/api/contract';
import type { HttpFlow } from '../../../src-common/flow';
import { toCurl } from '../../../src-common/inspect/curl';
import { fromBase64 } from '../../../src-common/inspect/text';
import { getBridge } from '../../api/bridge';
import { useStore } from '../../store/store';
import { copyWithToast } from './PairTable';

/** Bodies past this are not put in a command line (it would be unwieldy to paste). */
const MAX_CURL_BODY = MAX_BODY_PART;

export async function copyAsCurl(flow: HttpFlow): Promise<void> {
  const info = flow.request.body;
  let body: Uint8Array | undefined;
  if (info.bodyId && info.captured > 0) {
    try {
      const part = await getBridge().flows.bodyPart(info.bodyId, {
        offset: 0,
        length: Math.min(MAX_CURL_BODY, Math.max(1, info.captured)),
        decoded: false,
      });
      body = fromBase64(part.base64);
      if (part.total > body.length || info.truncated) {
        useStore
          .getState()
          .toast(
            'warning',
            'The request body was cut (capture cap or size): the command sends only its start.',
          );
      }
    } catch (err) {
      useStore
        .getState()
        .toast(
          'error',
          `Could not read the request body: ${(err as { message?: string })?.message ?? err}`,
        );
      return;
    }
  } else if (info.size > 0) {
    useStore
      .getState()
      .toast('warning', 'The request body was not captured: the command sends none.');
  }
  const command = toCurl({
    method: flow.request.method,
    url: flow.request.url,
    headers: flow.request.headers,
    body,
  });
  await copyWithToast(command, 'as cURL');
}

/**
 * ⌘⇧C (and Edit › Copy as cURL): the request of the flow the inspector shows — the focused
 * selected flow, else the first selected — read in full first. Says so when there is none.
 */
export async function copyShownAsCurl(): Promise<void> {
  const s = useStore.getState();
  const { ids, focus } = s.selection;
  const id = focus !== undefined && ids.has(focus) ? focus : ids.values().next().value;
  const summary = id === undefined ? undefined : s.byId[id];
  if (!summary || summary.kind !== 'http') {
    s.toast('info', 'Select a request to copy it as cURL (tunnels have no request to repeat).');
    return;
  }
  try {
    const flow = await getBridge().flows.get(summary.id);
    if (flow.kind === 'http') await copyAsCurl(flow);
  } catch (err) {
    s.toast('error', `Could not read the flow: ${(err as { message?: string })?.message ?? err}`);
  }
}
