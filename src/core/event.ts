/**
 * The hub's event model: a CloudEvents 1.0 envelope as the hub keeps it.
 *
 * Context attributes are kept flat, as the JSON event format has them. `data` holds a JSON value
 * (for JSON content types) or a string; `data_base64` holds binary data as received.
 */
export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  datacontenttype?: string;
  dataschema?: string;
  subject?: string;
  time?: string;
  data?: unknown;
  data_base64?: string;
  /** Extension attributes: lowercase alphanumeric names, string, boolean or integer values. */
  [extension: string]: unknown;
}

/** The attributes the spec defines; every other attribute is an extension. */
export const CORE_ATTRIBUTES = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'datacontenttype',
  'dataschema',
  'subject',
  'time',
]);

/** Members of the JSON format that carry the payload rather than a context attribute. */
export const DATA_MEMBERS = new Set(['data', 'data_base64']);

/** How an event reached the hub over HTTP. */
export type BindingMode = 'binary' | 'structured' | 'batch';

/**
 * The JSON text of events that arrived as exactly that text (structured mode), so storing them
 * does not serialise again what the client already serialised: at ingest rates that is a
 * measurable share of the work. Held weakly: it lives as long as the event object.
 */
const jsonTexts = new WeakMap<CloudEvent, string>();

export function rememberJson(event: CloudEvent, text: string): void {
  jsonTexts.set(event, text);
}

/** The event as JSON text: the text it arrived as when known, else serialised now. */
export function eventJson(event: CloudEvent): string {
  return jsonTexts.get(event) ?? JSON.stringify(event);
}
