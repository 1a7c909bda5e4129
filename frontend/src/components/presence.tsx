"use client";

import { useEffect, useState } from "react";
import { api } from "@/lib/api/client";
import { applyPresenceEvent, assessmentActivity, onlineFromList, type Online } from "@/lib/hub/presence";
import type { Channel } from "@/lib/ws-protocol";
import { useNotifications } from "./notifications";

/**
 * Who else is online in `channel` (class:{id}), live: the list the hub sends on
 * subscribing (or when asked), then join / leave / activity events. Subscribing makes
 * this user appear online there too. Empty while the hub is not connected.
 */
export function usePresence(channel: Channel | null, me: number | undefined): Online {
  const { hub, status } = useNotifications();
  const [online, setOnline] = useState<Online>({});
  useEffect(() => {
    if (!hub || !channel || me === undefined) return;
    hub.subscribe(channel);
    const stop = hub.listen((frame) => {
      if (frame.type === "ready") setOnline({});
      else if (frame.type === "subscribed" && frame.channel === channel) setOnline(onlineFromList(frame.presence, me));
      else if (frame.type === "presence" && frame.channel === channel) setOnline(onlineFromList(frame.users, me));
      else if (frame.type === "event" && frame.topic === "presence" && frame.channel === channel)
        setOnline((prev) => applyPresenceEvent(prev, frame.data, me));
    });
    // Already subscribed by another page of this tab: ask for the list.
    hub.sendFrame({ type: "presence", channel });
    return () => {
      stop();
      hub.unsubscribe(channel);
    };
  }, [hub, channel, me]);
  return status === "online" ? online : {};
}

/** Tells the class's teacher (live class view) what this student is reading. */
export function useReportActivity(channels: readonly Channel[], courseId: number | null, sectionId: string | null): void {
  const { hub, status } = useNotifications();
  const key = channels.join(",");
  useEffect(() => {
    if (!hub || status !== "online" || courseId === null) return;
    // The key joins Channels: its pieces are Channels again.
    for (const channel of key ? (key.split(",") as Channel[]) : []) {
      hub.sendFrame({ type: "activity", channel, courseId, ...(sectionId ? { sectionId } : {}) });
    }
  }, [hub, status, key, courseId, sectionId]);
}

/**
 * While a student takes an assessment: online in each of their classes, and the
 * teacher's live view says "En évaluation : …" (the activity names the assessment).
 * On leaving (handed in, another page) the activity is cleared, then the channels left.
 */
export function useReportAssessment(assessmentId: number | null): void {
  const { hub, status } = useNotifications();
  const [channels, setChannels] = useState<Channel[]>([]);
  useEffect(() => {
    if (assessmentId === null) return;
    let alive = true;
    void api.GET("/api/classes", { params: { query: { limit: 100 } } }).then(({ data }) => {
      if (alive && data) setChannels(data.classes.filter((c) => !c.archived).map((c): Channel => `class:${c.id}`));
    });
    return () => {
      alive = false;
    };
  }, [assessmentId]);
  const key = channels.join(",");
  useEffect(() => {
    if (!hub || status !== "online" || assessmentId === null || !key) return;
    const list = key.split(",") as Channel[];
    for (const channel of list) {
      hub.subscribe(channel);
      hub.sendFrame({ type: "activity", channel, sectionId: assessmentActivity(assessmentId) });
    }
    return () => {
      for (const channel of list) {
        hub.sendFrame({ type: "activity", channel });
        hub.unsubscribe(channel);
      }
    };
  }, [hub, status, key, assessmentId]);
}
