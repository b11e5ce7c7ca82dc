/**
 * Path routing under /ui with the History API: every page has a URL that can be bookmarked or shared,
 * and the hub answers index.html for any of them. Five pages do not need a routing library.
 */
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/ui';

/** The path inside the dashboard ("/events/lineage") and its query. */
export interface Location {
  path: string;
  params: URLSearchParams;
}

function current(): Location {
  const path = window.location.pathname.startsWith(BASE)
    ? window.location.pathname.slice(BASE.length) || '/'
    : '/';
  return { path, params: new URLSearchParams(window.location.search) };
}

const listeners = new Set<() => void>();

/** Goes to a dashboard path such as "/subscriptions/sub_1" or "/events?type=x". */
export function navigate(to: string, replace = false): void {
  const url = BASE + to;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  for (const listener of listeners) listener();
}

export function useLocation(): Location {
  const [location, setLocation] = useState(current);
  useEffect(() => {
    const update = () => setLocation(current());
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return location;
}

/** A link inside the dashboard that changes page without reloading it. */
export function onLinkClick(event: MouseEvent, to: string): void {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(to);
}
