// NOTIFY SET / NOTIFY NONE (RFC 5465 3.1). SET replaces the session's
// notification state, sends the STATUS responses the STATUS indicator asks
// for, and acts as a NOOP (the registry makes it poll). Unsupported events
// (AnnotationChange, the METADATA events) get NO [BADEVENT] with the list of
// supported ones.

import type { CommandOf, Handler } from '../context.js';
import { NotifyState, SUPPORTED_EVENTS, unsupportedEvents } from '../notify.js';

export const notifyHandler: Handler<CommandOf<'NOTIFY'>> = async ({ session, command }) => {
  if (command.set === null) {
    session.setNotify(null);
    return { status: 'OK', text: 'NOTIFY completed' };
  }
  if (unsupportedEvents(command.set.groups).length > 0) {
    return { status: 'NO', code: { kind: 'BADEVENT', events: [...SUPPORTED_EVENTS] }, text: 'Unsupported NOTIFY event' };
  }
  const state = new NotifyState(session, command.set.groups);
  session.setNotify(state);
  const responses = await state.start(command.set.status);
  if (responses.length > 0) await session.send(...responses);
  return { status: 'OK', text: 'NOTIFY completed' };
};
