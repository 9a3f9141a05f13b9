@IMP-05 @KB-11
Feature: Renewed certificates reach contacts through the update prompt
  Background:
    Given Contoso and Fabrikam each run their own key management
    And UserA is enrolled at Contoso
    And UserB is enrolled at Fabrikam
    And UserA trusts Fabrikam's certificate authority
    And UserA has UserB in Contacts from an earlier signed message

  Scenario: After renewal and an accepted update, mail is encrypted to the new certificate
    Given Fabrikam renews UserB's certificates
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    And UserA adds UserB to Contacts
    And UserA answers "update"
    And UserA restarts the mail client
    And UserA sends an encrypted message to UserB
    Then the message is sent encrypted
    And the message is encrypted to UserB's current encryption certificate
    And UserB can read the message

  Scenario: UserB can still read mail encrypted to the previous certificate
    Given Fabrikam renews UserB's certificates
    When UserA sends an encrypted message to UserB
    Then the message is sent encrypted
    And the message is encrypted to UserB's previous encryption certificate
    And UserB can read the message
