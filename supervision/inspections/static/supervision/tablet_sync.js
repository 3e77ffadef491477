// Sending what the tablet did offline (docs/OFFLINE.md), from the page (tablet.js: on load, on the
// online event, by the "Send now" button, after a change) or from the service worker (sw.js:
// Background Sync). The journals go one by one, oldest first: each one's photos first, each under
// the tablet's id for it, then the journal, which the server replays whole or refuses whole.
// A refusal keeps the journal on the tablet, marked with the server's reason, until a person
// decides; no connection stops the run and the next try waits longer (backoff).
(function (root) {
  "use strict";
  var Store = root.TabletStore;
  var LOCK = "supervision-tablet-sync";
  var PLACEHOLDER = "00000000-0000-0000-0000-000000000000";
  var FIRST_DELAY_MS = 5000;
  var MOST_DELAY_MS = 10 * 60 * 1000;

  function Transient(reason, status) {
    this.reason = reason; // "offline", "sign_in" or "server"
    this.status = status || 0;
  }

  // A refusal no retry can change: the server said no, with a code, about the work itself.
  // 401 (the session ended), 403 without a code (CSRF), 408, 429 and 5xx may pass later.
  function permanent(reply) {
    return (
      reply.status >= 400 &&
      reply.status < 500 &&
      [401, 408, 429].indexOf(reply.status) < 0 &&
      !!(reply.body && reply.body.code)
    );
  }

  function transientFrom(reply) {
    if (reply.status === 401 || reply.status === 403) {
      return new Transient("sign_in", reply.status);
    }
    return new Transient("server", reply.status);
  }

  function send(url, init) {
    return fetch(url, Object.assign({ credentials: "same-origin", cache: "no-store" }, init)).then(
      function (response) {
        return response
          .json()
          .catch(function () {
            return null;
          })
          .then(function (body) {
            return { ok: response.ok, status: response.status, body: body };
          });
      },
      function () {
        throw new Transient("offline");
      }
    );
  }

  function headers(config, json) {
    var result = { "X-CSRFToken": config.csrf || "", Accept: "application/json" };
    if (json) {
      result["Content-Type"] = "application/json";
    }
    return result;
  }

  // The journal as POST /api/v1/inspections/sync takes it.
  function body(journal) {
    return {
      inspection: journal.id,
      task: journal.task,
      started_at: journal.started_at,
      checklists: journal.checklists,
      answers: journal.answers.map(function (a) {
        return { id: a.id, item: a.item, result: a.result, note: a.note, photos: a.photos, at: a.at };
      }),
      note: journal.note === undefined ? null : journal.note,
      representative_name: journal.representative_name === undefined ? null : journal.representative_name,
      refusal: journal.refusal || null,
      signatures: Object.keys(journal.signatures || {}).map(function (key) {
        var s = journal.signatures[key];
        return { role: s.role, inspector_id: s.inspector_id, png_base64: s.png_base64, at: s.at };
      }),
      submission: journal.submission || null,
    };
  }

  function refuse(journal, reply) {
    var refusal = {
      status: reply.status,
      code: (reply.body && reply.body.code) || String(reply.status),
      message: (reply.body && reply.body.message) || "",
      details: (reply.body && reply.body.details) || null,
      at: new Date().toISOString(),
    };
    return Store.update("journals", journal.id, function (stored) {
      if (!stored) {
        return undefined;
      }
      stored.refused = refusal;
      return stored;
    }).then(function () {
      return "refused";
    });
  }

  function referenced(journal) {
    var ids = {};
    journal.answers.forEach(function (a) {
      (a.photos || []).forEach(function (id) {
        ids[id] = true;
      });
    });
    return ids;
  }

  function sendPhotos(journal, config) {
    var wanted = referenced(journal);
    return Store.byIndex("photos", "journal", journal.id).then(function (photos) {
      var waiting = photos
        .filter(function (p) {
          return !p.uploaded && wanted[p.id];
        })
        .sort(function (a, b) {
          return a.taken_at < b.taken_at ? -1 : 1;
        });
      var chain = Promise.resolve(null);
      waiting.forEach(function (photo) {
        chain = chain.then(function (refused) {
          if (refused) {
            return refused;
          }
          var form = new FormData();
          form.append("photo", photo.blob, photo.name || "photo.jpg");
          form.append("task", String(journal.task));
          form.append("item", String(photo.item));
          form.append("taken_at", photo.taken_at);
          return send(config.urls.photo.replace(PLACEHOLDER, photo.id), {
            method: "POST",
            headers: headers(config, false),
            body: form,
          }).then(function (reply) {
            if (reply.ok) {
              return Store.update("photos", photo.id, function (stored) {
                if (!stored) {
                  return undefined;
                }
                stored.uploaded = true;
                stored.sha256 = reply.body.sha256;
                return stored;
              }).then(function () {
                return null;
              });
            }
            if (permanent(reply)) {
              return refuse(journal, reply);
            }
            throw transientFrom(reply);
          });
        });
      });
      return chain;
    });
  }

  function sendJournal(journal, config) {
    return sendPhotos(journal, config).then(function (refused) {
      if (refused) {
        return refused;
      }
      var revision = journal.rev;
      return send(config.urls.sync, {
        method: "POST",
        headers: headers(config, true),
        body: JSON.stringify(body(journal)),
      }).then(function (reply) {
        if (reply.ok) {
          return Store.update("journals", journal.id, function (stored) {
            if (!stored) {
              return undefined;
            }
            stored.server = reply.body;
            stored.last_sync_at = new Date().toISOString();
            stored.attempts = 0;
            stored.next_try_at = null;
            stored.last_error = null;
            // Changed meanwhile (the inspector went on working): still waiting.
            if (stored.rev === revision) {
              stored.dirty = false;
            }
            return stored;
          }).then(function () {
            return "sent";
          });
        }
        if (permanent(reply)) {
          return refuse(journal, reply);
        }
        throw transientFrom(reply);
      });
    });
  }

  function backoff(journal, problem) {
    return Store.update("journals", journal.id, function (stored) {
      if (!stored) {
        return undefined;
      }
      stored.attempts = (stored.attempts || 0) + 1;
      var delay = Math.min(FIRST_DELAY_MS * Math.pow(2, stored.attempts - 1), MOST_DELAY_MS);
      stored.next_try_at = Date.now() + delay;
      stored.last_error = problem.reason;
      return stored;
    });
  }

  // What goes in a run: the journals with changes not sent yet, and the open records already
  // sent (sent again, they bring back what the other tablet did: its answers, the conflicts).
  function due(journal, user) {
    if (journal.user !== user || journal.refused) {
      return false;
    }
    var open = journal.server && journal.server.status === "draft" && !journal.submission;
    return journal.dirty || open;
  }

  // One run. ``options.force`` (the button) ignores the backoff. Resolves with a summary:
  // {sent, refused, waiting, problem} where problem is null, "offline", "sign_in", "server" or
  // "backoff" (a retry is not due yet).
  function run(options) {
    options = options || {};
    function work() {
      return Promise.all([
        Store.meta("user", null),
        Store.meta("csrf", ""),
        Store.meta("urls", null),
        Store.all("journals"),
      ]).then(function (values) {
        var config = { user: values[0], csrf: values[1], urls: values[2] };
        var summary = { sent: 0, refused: 0, waiting: 0, problem: null };
        if (!config.user || !config.urls) {
          return summary;
        }
        var journals = values[3]
          .filter(function (j) {
            return due(j, config.user);
          })
          .sort(function (a, b) {
            return a.created_at < b.created_at ? -1 : 1;
          });
        summary.waiting = journals.filter(function (j) {
          return j.dirty;
        }).length;
        var chain = Promise.resolve();
        journals.forEach(function (journal) {
          chain = chain.then(function () {
            if (summary.problem) {
              return null;
            }
            if (!options.force && journal.next_try_at && journal.next_try_at > Date.now()) {
              summary.problem = "backoff";
              return null;
            }
            return sendJournal(journal, config).then(
              function (outcome) {
                summary[outcome] += 1;
                if (journal.dirty) {
                  summary.waiting -= 1;
                }
              },
              function (error) {
                var problem = error instanceof Transient ? error : new Transient("server");
                summary.problem = problem.reason;
                return backoff(journal, problem);
              }
            );
          });
        });
        return chain.then(function () {
          var record = Object.assign({ at: new Date().toISOString() }, summary);
          return Store.setMeta("last_run", record).then(function () {
            return summary;
          });
        });
      });
    }
    if (root.navigator && root.navigator.locks && root.navigator.locks.request) {
      return root.navigator.locks.request(LOCK, work);
    }
    return work();
  }

  root.TabletSync = { run: run, body: body, permanent: permanent };
})(self);
