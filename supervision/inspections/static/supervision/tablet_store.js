// What the inspector's tablet keeps in IndexedDB (docs/OFFLINE.md), for the page (tablet.js) and
// the service worker (sw.js) alike: the day pack, the journals of the inspections done on the
// tablet, the photos as the original files, and a few settings. Every change is its own
// transaction: a full disk (QuotaExceededError) refuses that change and nothing stored before.
(function (root) {
  "use strict";
  var NAME = "supervision-tablet";
  var VERSION = 1;
  var opening = null;

  function open() {
    if (opening) {
      return opening;
    }
    opening = new Promise(function (resolve, reject) {
      if (!root.indexedDB) {
        reject(new Error("no-indexeddb"));
        return;
      }
      var request = root.indexedDB.open(NAME, VERSION);
      request.onupgradeneeded = function () {
        var db = request.result;
        db.createObjectStore("meta", { keyPath: "key" });
        db.createObjectStore("packs", { keyPath: "user" });
        var journals = db.createObjectStore("journals", { keyPath: "id" });
        journals.createIndex("user", "user");
        var photos = db.createObjectStore("photos", { keyPath: "id" });
        photos.createIndex("journal", "journal");
      };
      request.onsuccess = function () {
        var db = request.result;
        // Another tab upgrading the database: let it, this one reopens on the next call.
        db.onversionchange = function () {
          db.close();
          opening = null;
        };
        resolve(db);
      };
      request.onerror = function () {
        opening = null;
        reject(request.error);
      };
    });
    return opening;
  }

  // Runs ``work(stores)`` in one transaction; resolves with what it returned once the transaction
  // has committed (so "stored" means stored), rejects with the transaction's error (e.g. quota).
  function transaction(names, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(names, mode);
        var stores = {};
        names.forEach(function (name) {
          stores[name] = tx.objectStore(name);
        });
        var result;
        var failed = null;
        tx.oncomplete = function () {
          resolve(result);
        };
        tx.onerror = function (event) {
          failed = failed || tx.error || (event.target && event.target.error);
        };
        tx.onabort = function () {
          reject(failed || tx.error || new Error("aborted"));
        };
        try {
          Promise.resolve(work(stores, tx)).then(
            function (value) {
              result = value;
            },
            function (error) {
              failed = error;
              tx.abort();
            }
          );
        } catch (error) {
          failed = error;
          tx.abort();
        }
      });
    });
  }

  function req(request) {
    return new Promise(function (resolve, reject) {
      request.onsuccess = function () {
        resolve(request.result);
      };
      request.onerror = function () {
        reject(request.error);
      };
    });
  }

  function get(store, key) {
    return transaction([store], "readonly", function (s) {
      return req(s[store].get(key));
    });
  }

  function put(store, value) {
    return transaction([store], "readwrite", function (s) {
      return req(s[store].put(value)).then(function () {
        return value;
      });
    });
  }

  function remove(store, key) {
    return transaction([store], "readwrite", function (s) {
      return req(s[store].delete(key));
    });
  }

  function all(store) {
    return transaction([store], "readonly", function (s) {
      return req(s[store].getAll());
    });
  }

  function byIndex(store, index, value) {
    return transaction([store], "readonly", function (s) {
      return req(s[store].index(index).getAll(value));
    });
  }

  // Read, change and write one record in one transaction. ``change`` gets the stored value (or
  // undefined) and returns the new one, or undefined to leave it as it is.
  function update(store, key, change) {
    return transaction([store], "readwrite", function (s) {
      return req(s[store].get(key)).then(function (value) {
        var next = change(value);
        if (next === undefined) {
          return value;
        }
        return req(s[store].put(next)).then(function () {
          return next;
        });
      });
    });
  }

  function meta(key, fallback) {
    return get("meta", key).then(function (row) {
      return row ? row.value : fallback;
    });
  }

  function setMeta(key, value) {
    return put("meta", { key: key, value: value });
  }

  function isQuota(error) {
    return !!error && (error.name === "QuotaExceededError" || /quota/i.test(String(error.message || "")));
  }

  function uuid() {
    if (root.crypto && root.crypto.randomUUID) {
      return root.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    root.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map
      .call(bytes, function (b) {
        return (b + 0x100).toString(16).slice(1);
      })
      .join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  root.TabletStore = {
    open: open,
    transaction: transaction,
    get: get,
    put: put,
    remove: remove,
    all: all,
    byIndex: byIndex,
    update: update,
    meta: meta,
    setMeta: setMeta,
    isQuota: isQuota,
    uuid: uuid,
  };
})(self);
