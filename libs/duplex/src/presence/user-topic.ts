import { DuplexError } from '@nest-duplex/protocol';

/** Topics the framework keeps for itself start with this; services cannot subscribe to them. */
const RESERVED = '~';

/**
 * The topic every session of a user is subscribed to from its start: a
 * callback to a user is a topic callback, so it reaches each of the user's
 * sessions once, on whichever node, and moves with them.
 */
export function userTopic(userId: string): string {
  return `${RESERVED}user:${userId}`;
}

/** A service names a topic of its own: not a reserved one. */
export function checkTopic(topic: string): void {
  if (topic.startsWith(RESERVED)) throw new DuplexError('INVALID_ARGUMENTS', `topics starting with "${RESERVED}" are the framework's`);
}

/** The inverse of userTopic: the user a topic is the own topic of, if it is one. */
export function userOfTopic(topic: string): string | undefined {
  const prefix = userTopic('');
  return topic.startsWith(prefix) ? topic.slice(prefix.length) : undefined;
}
