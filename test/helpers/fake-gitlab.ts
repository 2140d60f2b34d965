/**
 * A stand-in for GitLab's notes API: a node:http server on 127.0.0.1 that
 * answers the endpoints @gitbeaker/rest calls for the preview note (GET /user,
 * GET/POST …/merge_requests/:iid/notes, PUT …/notes/:id) the way GitLab does
 * (pages with Link headers, 201 on create, 401 without the token) and records
 * every request.
 */
import * as http from "node:http";
import { AddressInfo } from "node:net";

export const TOKEN = "glpat-TEST-ONLY-9f8e7d6c5b4a";
export const PROJECT = "7";
export const MR = "12";
export const NOTES_PATH = `/api/v4/projects/${PROJECT}/merge_requests/${MR}/notes`;
export const BOT = { id: 42, username: "project_7_bot_preview" };
export const SOMEONE = { id: 5, username: "alice" };

export interface Recorded {
    method: string;
    /** Path and query. */
    url: string;
    headers: http.IncomingHttpHeaders;
    body: string;
}

export interface FakeNote {
    id: number;
    body: string;
    author: { id: number; username: string };
    system: boolean;
}

/** GitLab's notes API, as far as the poster uses it. */
export class FakeGitLab {
    readonly requests: Recorded[] = [];
    notes: FakeNote[] = [];
    /** GitLab caps per_page (at 100); a smaller cap here makes the poster page. */
    pageSize = 3;
    /** When set, every request gets this answer. */
    failure?: { status: number; body: unknown };
    private nextId = 1000;
    private server = http.createServer((req, res) => {
        let body = "";
        req.setEncoding("utf8").on("data", (d: string) => (body += d));
        req.on("end", () => this.handle(req, res, body));
    });

    get apiUrl(): string {
        return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/v4`;
    }

    start(): Promise<void> {
        return new Promise((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    }

    stop(): Promise<void> {
        return new Promise((resolve) => this.server.close(() => resolve()));
    }

    reset(notes: FakeNote[] = []): void {
        this.requests.length = 0;
        this.notes = notes;
        this.failure = undefined;
    }

    /** "GET /api/v4/…" for each request, without the query. */
    calls(): string[] {
        return this.requests.map((r) => `${r.method} ${r.url.split("?")[0]}`);
    }

    private handle(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
        this.requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
        const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
            res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(payload));
        };
        if (this.failure) {
            return send(this.failure.status, this.failure.body);
        }
        if (req.headers["private-token"] !== TOKEN) {
            return send(401, { message: "401 Unauthorized" });
        }
        const url = new URL(req.url ?? "", "http://127.0.0.1");
        if (req.method === "GET" && url.pathname === "/api/v4/user") {
            return send(200, { ...BOT, name: "preview bot", state: "active" });
        }
        if (url.pathname === NOTES_PATH && req.method === "GET") {
            const perPage = Math.min(Number(url.searchParams.get("per_page") ?? 20), this.pageSize);
            const page = Number(url.searchParams.get("page") ?? 1);
            const totalPages = Math.max(1, Math.ceil(this.notes.length / perPage));
            const headers: Record<string, string> = {
                "x-page": String(page),
                "x-per-page": String(perPage),
                "x-total": String(this.notes.length),
                "x-total-pages": String(totalPages),
            };
            if (page < totalPages) {
                const next = new URL(url.href.replace("http://127.0.0.1", this.apiUrl.replace(/\/api\/v4$/, "")));
                next.searchParams.set("page", String(page + 1));
                next.searchParams.set("per_page", String(perPage));
                headers["x-next-page"] = String(page + 1);
                headers.link = `<${next.href}>; rel="next"`;
            }
            return send(200, this.notes.slice((page - 1) * perPage, page * perPage), headers);
        }
        if (url.pathname === NOTES_PATH && req.method === "POST") {
            const note: FakeNote = { id: this.nextId++, body: (JSON.parse(body) as { body: string }).body, author: BOT, system: false };
            this.notes.push(note);
            return send(201, note);
        }
        const edit = new RegExp(`^${NOTES_PATH}/(\\d+)$`).exec(url.pathname);
        if (edit && req.method === "PUT") {
            const note = this.notes.find((n) => n.id === Number(edit[1]));
            if (!note) {
                return send(404, { message: "404 Not found" });
            }
            if (note.author.id !== BOT.id) {
                return send(403, { message: "403 Forbidden" });
            }
            note.body = (JSON.parse(body) as { body: string }).body;
            return send(200, note);
        }
        return send(404, { message: "404 Not Found" });
    }
}
