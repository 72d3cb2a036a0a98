/**
 * JSON of objects that many responses write unchanged. A watch event's object is the same value for
 * every watcher of the resource (the watch cache's ring entry, typed once by the store), so with 1000
 * watchers it used to be stringified 1000 times per event; now once, kept as long as the object lives.
 * Only for objects nobody modifies after they are handed out.
 */
const serialized = new WeakMap<object, string>();

export function sharedJson(obj: object): string {
  let json = serialized.get(obj);
  if (json === undefined) {
    json = JSON.stringify(obj);
    serialized.set(obj, json);
  }
  return json;
}
