import { Injectable } from '@nestjs/common';
import { type Observable, Subject } from 'rxjs';

/** One entry as the dashboard shows it. */
export interface LiveEntry {
  stream: string;
  id: string;
  /** When it was added (from its id), ISO. */
  at: string;
  /** A one-line description: recipient and subject or title. */
  summary: string;
}

/** Fans the broadcast handlers' entries out to every open dashboard (server-sent events). */
@Injectable()
export class LiveFeed {
  private readonly subject = new Subject<LiveEntry>();
  readonly entries$: Observable<LiveEntry> = this.subject.asObservable();

  publish(entry: LiveEntry): void {
    this.subject.next(entry);
  }
}
