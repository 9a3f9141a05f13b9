@IMP-01 @IMP-02
Feature: Inside one organization the directory publishes certificates
  Colleagues encrypt to each other at once through the global address list;
  the other organization's directory is not visible.

  Background:
    Given Contoso and Fabrikam each run their own key management
    And UserA is enrolled at Contoso
    And UserE is enrolled at Contoso
    And UserB is enrolled at Fabrikam

  Scenario: A colleague's certificate comes from the directory
    When UserA sends an encrypted message to UserE
    Then the message is sent encrypted
    And the certificate for UserE came from the "directory"
    And UserE can read the message
    And UserA can read her own sent message

  Scenario: Another organization's directory is not consulted
    When UserA sends an encrypted message to UserB
    Then the outcome is "prompt"
