"""Session reports (HTML + PNG figures) and progress plots for patient and therapist."""

from neckcoach.report.html import build_report, patient_summary

__all__ = ["build_report", "patient_summary"]
