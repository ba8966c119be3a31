#!/usr/bin/env node
// An OpenAI-compatible model server for hivejob's integration tests: the
// embeddings and chat completions endpoints, with the failures a real one
// shows. Plain Node, no npm dependencies.
//
// usage: node fakeai.js --log FILE [--mode MODE] [--host 127.0.0.1] [--port 0]
//
// Listens on host:port (port 0: any free port) and prints the port on stdout
// as its first and only line. Every request except the control endpoint
// becomes one JSON line in the log file, written before the answer is sent
// (on arrival for the modes hang and delay):
//
//   {"seq", "received_ms", "method", "path" (as received), "route" (the
//    path without a /mode/M prefix), "headers" (lowercase names, every one,
//    authorization included), "body" (the raw text), "mode", "status",
//    "vector" (the values of the embedding sent, when one was)}
//
// The mode of a request, first match wins:
//   1. a directive in the text: "{{fakeai:MODE key=value ...}}" anywhere in
//      the embeddings input or in the chat's last user message. It is
//      removed from the text before the vector is derived from it;
//   2. a path prefix: /mode/MODE/v1/embeddings;
//   3. the next mode queued through the control endpoint;
//   4. the default mode (--mode, or set through the control endpoint).
// A mode is "NAME key=value ...", e.g. "429 ra=30 ms=2500".
//
// Embeddings (POST /v1/embeddings). The vector is a function of the input
// text alone (directives removed): 768 float32 values, fround(0.5 sin(s + 0.7 i))
// with s from the SHA-256 of the text.
//   ok           float list, or base64 when the request's encoding_format is
//                "base64" (the default mode)
//   float        a float list whatever was asked
//   base64       base64 of little-endian float32 whatever was asked
//   two          two items, index 1 first, then index 0
//   index1       one item whose index is 1
//   dim767       767 values (float list); dim767-b64: 767 float32 in base64
//   nan          a raw NaN token in the list; overflow: 1e999 (past double)
//   nan-b64      a float32 NaN in base64
//   null         a null in the list
//   notjson      200 with an HTML body
// Chat completions (POST /v1/chat/completions):
//   ok           a valid json_schema answer: {"sentiment": S, "confidence": C}
//                with S = sentiment=... (default positive), C = confidence=...
//                (default 0.87), finish_reason "stop"
//   chat-enum    sentiment "very positive"
//   chat-conf    confidence 1.5
//   chat-length  finish_reason "length", the content cut short
//   chat-nonjson content that is prose, not JSON
// Either endpoint:
//   401          invalid_api_key; 401-echo: the bearer token echoed in the
//                error's message and code (a hostile server)
//   429          rate_limit_exceeded, with Retry-After: ra=N, retry-after-ms: ms=N
//   quota        429 insufficient_quota (and Retry-After: 1)
//   500, 400     that status with an OpenAI error body
//   hang         never answers
//   delay        answers as ok after ms=N milliseconds (default 2000); its
//                request is recorded on arrival, without status and vector
// Any error mode takes xsr=true|false: an x-should-retry header.
//
// Control: POST /_control with a JSON object, every member optional:
//   {"mode": "ok", "queue": ["500", "429 ra=3"]}
// answers {"ok": true, "requests": N}; GET /_control answers the state.
// Control requests are not recorded.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const http = require("http");

const DIM = 768;
const MODES = new Set(["ok", "float", "base64", "two", "index1", "dim767", "dim767-b64",
    "nan", "overflow", "nan-b64", "null", "notjson", "chat-enum", "chat-conf",
    "chat-length", "chat-nonjson", "401", "401-echo", "429", "quota", "500", "400",
    "hang", "delay"]);
const DIRECTIVE = /\{\{fakeai:([^}]*)\}\}/;

function usage(msg) {
	process.stderr.write(`fakeai: ${msg}\nusage: node fakeai.js --log FILE ` +
	    "[--mode MODE] [--host H] [--port P]\n");
	process.exit(64);
}

// "429 ra=30" -> {name: "429", params: {ra: "30"}, spec: "429 ra=30"}
function parseMode(spec) {
	const words = String(spec).trim().split(/\s+/);
	const m = { name: words[0], params: {}, spec: String(spec).trim() };
	for (const w of words.slice(1)) {
		const eq = w.indexOf("=");
		if (eq <= 0)
			return null;
		m.params[w.slice(0, eq)] = w.slice(eq + 1);
	}
	return MODES.has(m.name) ? m : null;
}

const opt = { log: null, mode: "ok", host: "127.0.0.1", port: 0 };
{
	const a = process.argv.slice(2);
	for (let i = 0; i < a.length; i++) {
		const v = a[i + 1];
		if (v === undefined)
			usage(`${a[i]} needs a value`);
		switch (a[i]) {
		case "--log": opt.log = v; break;
		case "--mode": opt.mode = v; break;
		case "--host": opt.host = v; break;
		case "--port": opt.port = Number(v); break;
		default: usage(`unknown option ${a[i]}`);
		}
		i++;
	}
	if (!opt.log)
		usage("--log is required");
	if (!parseMode(opt.mode))
		usage(`unknown mode ${opt.mode}`);
}

const state = { mode: parseMode(opt.mode), queue: [], seq: 0 };
const sockets = new Set();

// The vector of a text: deterministic, finite, exact in float32.
function vectorOf(text, dim) {
	const h = crypto.createHash("sha256").update(text, "utf8").digest();
	const s = h.readUInt32LE(0) / 4294967296 * 1000;
	const v = new Array(dim);
	for (let i = 0; i < dim; i++)
		v[i] = Math.fround(0.5 * Math.sin(s + 0.7 * i));
	return v;
}

function base64Of(v) {
	const b = Buffer.alloc(v.length * 4);
	for (let i = 0; i < v.length; i++)
		b.writeFloatLE(v[i], i * 4);
	return b.toString("base64");
}

function errorBody(message, type, code) {
	return JSON.stringify({ error: { message, type, param: null, code } });
}

// The text a directive is looked for in, and a setter to strip it.
function requestText(route, body) {
	if (body === null || typeof body !== "object")
		return null;
	if (route === "/v1/embeddings") {
		if (typeof body.input === "string")
			return body.input;
		if (Array.isArray(body.input) && typeof body.input[0] === "string")
			return body.input[0];
		return null;
	}
	if (route === "/v1/chat/completions" && Array.isArray(body.messages)) {
		for (let i = body.messages.length - 1; i >= 0; i--) {
			const m = body.messages[i];
			if (m && m.role === "user" && typeof m.content === "string")
				return m.content;
		}
	}
	return null;
}

function record(rec) {
	fs.appendFileSync(opt.log, JSON.stringify(rec) + "\n");
}

function answerEmbeddings(mode, text, body, send) {
	const clean = (text || "").replace(DIRECTIVE, "");
	const v = vectorOf(clean, mode.name.startsWith("dim767") ? DIM - 1 : DIM);
	const model = typeof body.model === "string" ? body.model : "fake";
	const wantB64 = body.encoding_format === "base64";
	const usage = { prompt_tokens: 5, total_tokens: 5 };
	let b64 = mode.name === "base64" || mode.name === "dim767-b64" ||
	    mode.name === "nan-b64" || ((mode.name === "ok" || mode.name === "delay") && wantB64);
	let items, raw = null;

	if (mode.name === "notjson")
		return send(200, "<html><body>502 Bad Gateway</body></html>", null,
		    { "content-type": "text/html" });
	if (mode.name === "nan-b64") {
		const b = Buffer.from(base64Of(v), "base64");
		b.writeFloatLE(NaN, 4 * 5);
		items = [{ object: "embedding", index: 0, embedding: b.toString("base64") }];
		return send(200, JSON.stringify({ object: "list", data: items, model, usage }), v);
	}
	if (mode.name === "nan" || mode.name === "overflow" || mode.name === "null") {
		const vals = v.map(String);
		vals[5] = mode.name === "nan" ? "NaN" : mode.name === "overflow" ? "1e999" : "null";
		raw = `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[` +
		    vals.join(",") + `]}],"model":${JSON.stringify(model)},"usage":` +
		    JSON.stringify(usage) + "}";
		return send(200, raw, v);
	}
	const emb = b64 ? base64Of(v) : v;
	if (mode.name === "two") {
		const other = vectorOf(clean + " (second)", DIM);
		items = [{ object: "embedding", index: 1, embedding: b64 ? base64Of(other) : other },
		    { object: "embedding", index: 0, embedding: emb }];
	} else
		items = [{ object: "embedding", index: mode.name === "index1" ? 1 : 0, embedding: emb }];
	return send(200, JSON.stringify({ object: "list", data: items, model, usage }), v);
}

function answerChat(mode, body, send) {
	const p = mode.params;
	let sentiment = p.sentiment || "positive", confidence = p.confidence !== undefined ?
	    Number(p.confidence) : 0.87, finish = "stop", content;

	if (mode.name === "notjson")
		return send(200, "<html><body>502 Bad Gateway</body></html>", null,
		    { "content-type": "text/html" });
	if (mode.name === "chat-enum")
		sentiment = "very positive";
	if (mode.name === "chat-conf")
		confidence = 1.5;
	content = JSON.stringify({ sentiment, confidence });
	if (mode.name === "chat-length") {
		finish = "length";
		content = content.slice(0, 14);
	}
	if (mode.name === "chat-nonjson")
		content = "The sentiment of this feedback is positive.";
	return send(200, JSON.stringify({
		id: "chatcmpl-fake", object: "chat.completion", created: Math.floor(Date.now() / 1000),
		model: typeof body.model === "string" ? body.model : "fake",
		choices: [{ index: 0, message: { role: "assistant", content },
		    finish_reason: finish }],
		usage: { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 },
	}), null);
}

function handle(req, res, raw) {
	const url = new URL(req.url, "http://x");
	let route = url.pathname, mode = null, body = null;

	if (route === "/_control") {
		if (req.method === "POST") {
			let c;
			try {
				c = JSON.parse(raw.toString("utf8"));
			} catch (e) {
				res.writeHead(400, { "content-type": "application/json" });
				return res.end(JSON.stringify({ ok: false, error: String(e) }));
			}
			if (c.mode !== undefined) {
				const m = parseMode(c.mode);
				if (!m) {
					res.writeHead(400, { "content-type": "application/json" });
					return res.end(JSON.stringify({ ok: false, error: `unknown mode ${c.mode}` }));
				}
				state.mode = m;
			}
			if (Array.isArray(c.queue)) {
				const q = c.queue.map(parseMode);
				if (q.some((m) => !m)) {
					res.writeHead(400, { "content-type": "application/json" });
					return res.end(JSON.stringify({ ok: false, error: "unknown mode in queue" }));
				}
				state.queue.push(...q);
			}
		}
		res.writeHead(200, { "content-type": "application/json" });
		return res.end(JSON.stringify({ ok: true, requests: state.seq,
		    mode: state.mode.spec, queue: state.queue.map((m) => m.spec) }));
	}

	const pm = /^\/mode\/([^/]+)(\/.*)$/.exec(route);
	if (pm) {
		mode = parseMode(decodeURIComponent(pm[1]).replace(/,/g, " "));
		route = pm[2];
	}
	try {
		body = JSON.parse(raw.toString("utf8"));
	} catch (e) {
		body = null;
	}
	const text = requestText(route, body);
	const dm = text !== null ? DIRECTIVE.exec(text) : null;
	let unknown = null;
	if (pm && !mode)
		unknown = pm[1];
	if (dm) {
		mode = parseMode(dm[1]);
		unknown = mode ? null : dm[1];
	}
	if (!mode && !unknown && state.queue.length)
		mode = state.queue.shift();
	if (!mode)
		mode = unknown !== null ? parseMode("400") : state.mode;

	const rec = { seq: ++state.seq, received_ms: Date.now(), method: req.method,
	    path: req.url, route, headers: req.headers, body: raw.toString("utf8"),
	    mode: mode.spec, status: null, vector: null };

	let recorded = false;
	const send = (status, text, vector, headers) => {
		rec.status = status;
		rec.vector = vector;
		if (!recorded)
			record(rec);
		res.writeHead(status, Object.assign({ "content-type": "application/json" },
		    headers || {}));
		res.end(text);
	};
	const p = mode.params;
	const errHeaders = {};
	if (p.xsr !== undefined)
		errHeaders["x-should-retry"] = p.xsr;

	if (unknown !== null)
		return send(400, errorBody(`fakeai: unknown mode ${unknown}`,
		    "invalid_request_error", "fakeai_unknown_mode"), null);
	if (req.method !== "POST" || (route !== "/v1/embeddings" &&
	    route !== "/v1/chat/completions") || body === null || typeof body !== "object")
		return send(404, errorBody(`no route ${req.method} ${route}`,
		    "invalid_request_error", "unknown_url"), null);

	switch (mode.name) {
	case "hang":
		rec.status = 0;
		record(rec);
		return;		// the socket stays open until the client gives up
	case "401": {
		return send(401, errorBody("Incorrect API key provided: sk-tes*****. You can " +
		    "find your API key at https://platform.openai.com/account/api-keys.",
		    "invalid_request_error", "invalid_api_key"), null, errHeaders);
	}
	case "401-echo": {
		const auth = req.headers.authorization || "";
		return send(401, errorBody(`Incorrect API key provided: ${auth}`,
		    "invalid_request_error", `invalid_api_key ${auth}`), null, errHeaders);
	}
	case "429": {
		if (p.ra !== undefined)
			errHeaders["retry-after"] = p.ra;
		if (p.ms !== undefined)
			errHeaders["retry-after-ms"] = p.ms;
		return send(429, errorBody("Rate limit reached for requests", "requests",
		    "rate_limit_exceeded"), null, errHeaders);
	}
	case "quota":
		errHeaders["retry-after"] = "1";
		return send(429, errorBody("You exceeded your current quota, please check " +
		    "your plan and billing details.", "insufficient_quota", "insufficient_quota"),
		    null, errHeaders);
	case "500":
		return send(500, errorBody("The server had an error while processing your " +
		    "request.", "server_error", null), null, errHeaders);
	case "400":
		return send(400, errorBody("Bad request.", "invalid_request_error",
		    "bad_request"), null, errHeaders);
	case "delay":
		// Recorded on arrival: a test acts while the answer is held back.
		record(rec);
		recorded = true;
		setTimeout(() => {
			if (route === "/v1/embeddings")
				answerEmbeddings(mode, text, body, send);
			else
				answerChat(mode, body, send);
		}, p.ms !== undefined ? Number(p.ms) : 2000);
		return;
	}
	if (route === "/v1/embeddings")
		return answerEmbeddings(mode, text, body, send);
	return answerChat(mode, body, send);
}

const server = http.createServer((req, res) => {
	const chunks = [];
	req.on("data", (c) => chunks.push(c));
	req.on("end", () => {
		try {
			handle(req, res, Buffer.concat(chunks));
		} catch (e) {
			process.stderr.write(`fakeai: ${e.stack}\n`);
			res.writeHead(599);
			res.end();
		}
	});
});
server.on("connection", (s) => {
	sockets.add(s);
	s.on("close", () => sockets.delete(s));
});
server.keepAliveTimeout = 1000;
server.requestTimeout = 0;
server.headersTimeout = 60000;
server.listen(opt.port, opt.host, () => {
	process.stdout.write(`${server.address().port}\n`);
});

function stop() {
	server.close();
	for (const s of sockets)
		s.destroy();
	process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
