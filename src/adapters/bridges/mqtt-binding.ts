/**
 * The CloudEvents MQTT protocol binding (1.0.2). MQTT 5 has both modes: in binary mode
 * `datacontenttype` is the PUBLISH Content Type property and every other attribute a User Property
 * named as the attribute, without a prefix. MQTT 3.1.1 has no properties at all, so it carries only
 * structured mode: the payload is the JSON event format.
 */
import { MalformedRequestError } from '../../core/errors.js';
import { ATTRIBUTE_NAME, type BoundMessage, type OutboundMessage } from './message.js';

/** The PUBLISH properties the binding reads and writes, as mqtt.js has them. */
export interface MqttProperties {
  contentType?: string | undefined;
  userProperties?: Record<string, string | string[]> | undefined;
}

/** 3 is MQTT 3.1.1 (protocol level 4); 5 is MQTT 5.0. */
export type MqttVersion = 3 | 5;

/**
 * Reduces a received PUBLISH to a bound message. A `specversion` User Property marks binary mode,
 * and then every User Property with an attribute's name is an attribute; without one, properties
 * are the application's and the payload is read as a structured event.
 *
 * @throws MalformedRequestError when an attribute's User Property appears more than once.
 * @example mqttToMessage({ userProperties: { specversion: '1.0', id: '1' } }, payload)
 */
export function mqttToMessage(properties: MqttProperties | undefined, payload: Buffer): BoundMessage {
  const attributes: Record<string, string> = {};
  const user = properties?.userProperties ?? {};
  if (Object.hasOwn(user, 'specversion')) {
    for (const [name, value] of Object.entries(user)) {
      if (!ATTRIBUTE_NAME.test(name)) continue;
      if (Array.isArray(value)) {
        if (value.length !== 1)
          throw new MalformedRequestError(
            `the User Property '${name}' appears ${value.length} times; an attribute is sent once`,
          );
        attributes[name] = value[0]!;
      } else attributes[name] = value;
    }
  }
  return { attributes, contentType: properties?.contentType, body: payload };
}

/**
 * Writes an outbound delivery as a PUBLISH. On MQTT 5 attributes and metadata become User
 * Properties (metadata names have a `-`, so they never clash with an attribute) and the content
 * type the Content Type property; `extra` are the subscription's own User Properties, which never
 * override the hub's. On MQTT 3.1.1 only the payload travels.
 *
 * @throws Error for a binary-mode message on MQTT 3.1.1: subscriptions refuse that combination, so
 *   reaching it is a bug.
 * @example messageToMqtt(fromHttpForm(headers, body), 5, {}).properties?.userProperties
 */
export function messageToMqtt(
  message: OutboundMessage,
  version: MqttVersion,
  extra: Record<string, string> = {},
): { payload: Buffer; properties: MqttProperties | undefined } {
  if (version === 3) {
    if (Object.keys(message.attributes).length > 0)
      throw new Error('MQTT 3.1.1 cannot carry a binary-mode event: it has no properties');
    return { payload: message.body, properties: undefined };
  }
  const userProperties: Record<string, string> = { ...extra, ...message.meta, ...message.attributes };
  const properties: MqttProperties = { userProperties };
  if (message.contentType !== undefined) properties.contentType = message.contentType;
  return { payload: message.body, properties };
}
